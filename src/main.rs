fn main() -> std::process::ExitCode {
    ssm_doctor::app::main()
}

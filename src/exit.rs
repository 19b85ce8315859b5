//! The process exit codes, the contract runbooks branch on (`--help`, the README). Every way the
//! binary ends maps to one of these, here and nowhere else.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every check passed (warnings allowed).
    Healthy,
    /// A check failed: the instance is not reachable until it is fixed.
    Failed,
    /// Bad usage or input, no credentials or region, the API out of reach: nothing diagnosed.
    Usage,
    /// No failure found, but something could not be evaluated (or listed).
    Incomplete,
    /// A bug in ssm-doctor.
    Internal,
}

impl Exit {
    pub const fn code(self) -> u8 {
        match self {
            Exit::Healthy => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Incomplete => 3,
            Exit::Internal => 4,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_codes() {
        let codes = [
            Exit::Healthy,
            Exit::Failed,
            Exit::Usage,
            Exit::Incomplete,
            Exit::Internal,
        ]
        .map(Exit::code);
        assert_eq!(codes, [0, 1, 2, 3, 4]);
    }
}

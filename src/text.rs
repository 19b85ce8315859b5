//! Text that reaches a terminal or a report from outside (a service's message, a hostile input).

/// One printable line of at most `max` characters: runs of whitespace and control characters (a
/// newline, an escape sequence) become one space, and a longer text ends in `…`.
pub fn one_line(text: &str, max: usize) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let line = words.join(" ");
    match line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn one_printable_bounded_line() {
        assert_eq!(one_line("bad\nid\u{1b}[31m  x", 100), "bad id [31m x");
        assert_eq!(
            one_line(&"x".repeat(50), 10),
            format!("{}…", "x".repeat(10))
        );
    }
}

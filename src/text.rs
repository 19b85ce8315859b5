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

/// Whether `text` reads the same to a shell unquoted: letters, digits and `_ . / : @ % + = , -`.
pub fn plain_word(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@%+=,-".contains(c))
}

/// `text` as one shell word: as it is when plain, else single-quoted (a value from a snapshot or
/// an option must never be read as shell syntax in a command printed for the reader to run).
pub fn shell_word(text: &str) -> String {
    match plain_word(text) {
        true => text.to_string(),
        false => format!("'{}'", text.replace('\'', "'\\''")),
    }
}

#[cfg(test)]
mod tests {
    use super::{one_line, shell_word};

    #[test]
    fn shell_words_are_quoted_unless_plain() {
        assert_eq!(shell_word("eu-west-1"), "eu-west-1");
        assert_eq!(shell_word("prod;rm -rf ~"), "'prod;rm -rf ~'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn one_printable_bounded_line() {
        assert_eq!(one_line("bad\nid\u{1b}[31m  x", 100), "bad id [31m x");
        assert_eq!(
            one_line(&"x".repeat(50), 10),
            format!("{}…", "x".repeat(10))
        );
    }
}

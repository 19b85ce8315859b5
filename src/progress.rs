//! A spinner on stderr while AWS is asked, shown only on a terminal and only when the wait is
//! longer than a moment, so that piped and quick runs stay silent.

use crate::collect::Aws;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::convert::Infallible;
use std::io::IsTerminal;
use std::time::Duration;

const SHOW_AFTER: Duration = Duration::from_millis(400);

pub struct Spinner {
    bar: ProgressBar,
}

impl Default for Spinner {
    fn default() -> Spinner {
        Spinner {
            bar: ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()),
        }
    }
}

impl Spinner {
    /// Shows the number of calls made so far until the collection it races against finishes.
    pub async fn run(&self, aws: &Aws) -> Infallible {
        tokio::time::sleep(SHOW_AFTER).await;
        if std::io::stderr().is_terminal() {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"),
            );
        }
        loop {
            self.bar
                .set_message(format!("asking AWS… {} calls so far", aws.api_calls()));
            self.bar.tick();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

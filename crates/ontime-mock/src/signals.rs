//! Stopping a long-running simulator on Ctrl-C or SIGTERM.

/// Ctrl-C, and SIGTERM on Unix (how service managers and `kill` stop a process), listened for
/// from [`install`](Self::install) on. Install before printing the simulator's URL, so that
/// whoever sees the URL can stop it cleanly at once.
#[derive(Debug)]
pub struct StopSignals {
    #[cfg(unix)]
    signals: [tokio::signal::unix::Signal; 2],
}

impl StopSignals {
    /// Starts listening (fails only when the OS refuses a signal handler).
    pub fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                signals: [
                    signal(SignalKind::interrupt())?,
                    signal(SignalKind::terminate())?,
                ],
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Waits for the first of the signals.
    pub async fn wait(self) {
        #[cfg(unix)]
        {
            let [mut int, mut term] = self.signals;
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

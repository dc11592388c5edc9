//! A scripted SMTP server on loopback (real TCP, the protocol's own
//! replies): each session answers `MAIL FROM` with the next scripted reply,
//! so a test can make a mail server accept, defer (4xx), refuse (5xx) or
//! say nothing at all, and count what it accepted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// How one SMTP session goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpReply {
    /// The message is accepted (`250`).
    Accept,
    /// `451 4.3.0`: try again later.
    Defer,
    /// `550 5.1.1`: never.
    Refuse,
    /// The connection is accepted and nothing is ever said.
    Hang,
    /// Accepts mail but offers no way to log in (no `AUTH` in `EHLO`).
    NoAuth,
}

#[derive(Debug, Default)]
struct State {
    script: VecDeque<SmtpReply>,
    last: Option<SmtpReply>,
    /// `MAIL FROM` commands seen (attempts that got that far) and sessions
    /// that were made to hang.
    attempts: usize,
    accepted: Vec<String>,
}

/// A running server.
#[derive(Debug, Clone)]
pub struct ScriptedSmtp {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    state: Arc<Mutex<State>>,
}

impl ScriptedSmtp {
    /// Starts a server answering sessions with `script` in order, then its
    /// last reply forever.
    pub async fn start(script: Vec<SmtpReply>) -> ScriptedSmtp {
        let state = Arc::new(Mutex::new(State {
            last: script.last().copied(),
            script: script.into(),
            ..State::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(shared.clone(), stream));
            }
        });
        ScriptedSmtp { addr, state }
    }

    /// Replaces the script (a server coming back).
    pub fn rescript(&self, script: Vec<SmtpReply>) {
        let mut state = self.state.lock().unwrap();
        state.last = script.last().copied();
        state.script = script.into();
    }

    pub fn attempts(&self) -> usize {
        self.state.lock().unwrap().attempts
    }

    /// The messages accepted, as received after `DATA`.
    pub fn accepted(&self) -> Vec<String> {
        self.state.lock().unwrap().accepted.clone()
    }
}

async fn session(state: Arc<Mutex<State>>, stream: tokio::net::TcpStream) {
    let reply = {
        let mut state = state.lock().unwrap();
        let next = state.script.pop_front().or(state.last);
        next.unwrap_or(SmtpReply::Accept)
    };
    if reply == SmtpReply::Hang {
        state.lock().unwrap().attempts += 1;
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return;
    }
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 scripted.example ESMTP\r\n").await;
    while let Ok(Some(line)) = lines.next_line().await {
        let command = line.to_ascii_uppercase();
        let answer: &[u8] = if command.starts_with("EHLO") {
            if reply == SmtpReply::NoAuth {
                b"250-scripted.example\r\n250 8BITMIME\r\n"
            } else {
                b"250-scripted.example\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
            }
        } else if command.starts_with("AUTH") {
            b"235 2.7.0 Authentication successful\r\n"
        } else if command.starts_with("HELO")
            || command.starts_with("RSET")
            || command.starts_with("NOOP")
        {
            b"250 OK\r\n"
        } else if command.starts_with("MAIL FROM") {
            state.lock().unwrap().attempts += 1;
            match reply {
                SmtpReply::Defer => b"451 4.3.0 try again later\r\n",
                SmtpReply::Refuse => b"550 5.1.1 mailbox unavailable\r\n",
                _ => b"250 2.1.0 OK\r\n",
            }
        } else if command.starts_with("RCPT TO") {
            b"250 2.1.5 OK\r\n"
        } else if command.starts_with("DATA") {
            let _ = write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await;
            let mut message = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                message.push_str(&line);
                message.push('\n');
            }
            state.lock().unwrap().accepted.push(message);
            b"250 2.0.0 queued\r\n"
        } else if command.starts_with("QUIT") {
            let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
            return;
        } else {
            b"502 5.5.2 command not recognized\r\n"
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}

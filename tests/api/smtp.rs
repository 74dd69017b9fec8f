//! A small but real SMTP server on port 0 (RFC 5321 over TCP): it speaks EHLO, MAIL, RCPT,
//! DATA, RSET, NOOP and QUIT, keeps every message it accepts, and can be told to answer the
//! next messages' DATA with a temporary (4xx) or permanent (5xx) refusal.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
    /// When its DATA ended (before the answer).
    pub at: std::time::Instant,
}

#[derive(Default)]
struct State {
    mails: Mutex<Vec<Mail>>,
    refusals: Mutex<VecDeque<u16>>,
}

pub struct SmtpServer {
    pub port: u16,
    state: Arc<State>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        SmtpServer::listen(TcpListener::bind(("127.0.0.1", 0)).await.unwrap())
    }

    /// A port of this machine held for a server that is not up yet: bound, so that nothing else
    /// can take it meanwhile, but not listening, so that connections to it are refused.
    pub fn reserve() -> (tokio::net::TcpSocket, u16) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
        let port = socket.local_addr().unwrap().port();
        (socket, port)
    }

    /// On a port held by `reserve` (a server that comes up where the gateway has been knocking).
    pub async fn start_on(reserved: tokio::net::TcpSocket) -> SmtpServer {
        SmtpServer::listen(reserved.listen(128).unwrap())
    }

    fn listen(listener: TcpListener) -> SmtpServer {
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, shared.clone()));
            }
        });
        SmtpServer { port, state }
    }

    /// `smtp.url` for the gateway: plain SMTP on this machine.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next messages' DATA is answered with these codes (e.g. 451, 550), in order.
    pub fn refuse(&self, codes: impl IntoIterator<Item = u16>) {
        self.state.refusals.lock().unwrap().extend(codes);
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.state.mails.lock().unwrap().clone()
    }
}

async fn session(socket: tokio::net::TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 test-smtp ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command.split([' ', ':']).next().unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-test-smtp\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n",
            "HELO" => b"250 test-smtp\r\n",
            "MAIL" => {
                from = command.split_once(':').map_or("", |(_, rest)| rest).trim().to_owned();
                to.clear();
                b"250 2.1.0 ok\r\n"
            }
            "RCPT" => {
                to.push(command.split_once(':').map_or("", |(_, rest)| rest).trim().to_owned());
                b"250 2.1.5 ok\r\n"
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = Vec::new();
                loop {
                    let mut raw = Vec::new();
                    if lines.read_until(b'\n', &mut raw).await? == 0 {
                        return Ok(());
                    }
                    if raw == b".\r\n" {
                        break;
                    }
                    // Dot-stuffing (RFC 5321 4.5.2).
                    let raw = if raw.starts_with(b"..") { raw[1..].to_vec() } else { raw };
                    data.extend_from_slice(&raw);
                }
                let refusal = state.refusals.lock().unwrap().pop_front();
                match refusal {
                    Some(code) => {
                        write
                            .write_all(format!("{code} refused by the test\r\n").as_bytes())
                            .await?;
                    }
                    None => {
                        state.mails.lock().unwrap().push(Mail {
                            from: from.clone(),
                            to: to.clone(),
                            data,
                            at: std::time::Instant::now(),
                        });
                        write.write_all(b"250 2.0.0 queued\r\n").await?;
                    }
                }
                continue;
            }
            "RSET" => b"250 ok\r\n",
            "NOOP" => b"250 ok\r\n",
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 command not recognised\r\n",
        };
        write.write_all(reply).await?;
    }
}

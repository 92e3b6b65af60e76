//! An in-process SMTP server for the end-to-end tests: [`TestSmtp::start`] listens on a random
//! port of 127.0.0.1 and speaks enough plain SMTP (no TLS, no AUTH, no PIPELINING) for lettre's
//! `AsyncSmtpTransport` built with `builder_dangerous`, so that a test can point govflow's mailer at
//! it and read back what was sent. A [`Behaviour`] makes the server refuse data, refuse
//! recipients or drop the connection after the data; [`TestSmtp::stop`] and
//! [`TestSmtp::restart`] simulate a mail server that is down. [`Received`] has small MIME helpers
//! (headers with RFC 2047 encoded-words, the text and HTML parts, quoted-printable and base64) so
//! that tests need no MIME crate.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The longest command line the server reads; a longer one ends the session. SMTP allows 512
/// octets, but a test server should not be the thing that fails on a long address.
const MAX_COMMAND_LINE: u64 = 64 * 1024;
/// The longest line of message data; RFC 5321 allows 1000 octets, lettre stays under 1000.
const MAX_DATA_LINE: u64 = 1024 * 1024;

/// What the server does with the next commands; see [`TestSmtp::set_behaviour`].
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// 250 to everything.
    Accept,
    /// Answer this code and text to the end of DATA (e.g. 451 "try again later") instead of 250;
    /// the message is not recorded.
    RejectData { code: u16, text: String },
    /// Answer 550 "no such user" to RCPT TO for these addresses (compared case-insensitively),
    /// accept the rest.
    RejectRecipients(Vec<String>),
    /// Read the whole DATA, then close the connection without answering (the "crash after DATA"
    /// case); the message is still recorded in [`TestSmtp::received`] with `answered: false`.
    DropAfterData,
}

/// One message the server read to the end of its DATA.
#[derive(Clone, Debug)]
pub struct Received {
    /// The envelope's MAIL FROM address, without `<>` (empty for the null sender `<>`).
    pub from: String,
    /// The envelope's RCPT TO addresses that were accepted, in order, without `<>`.
    pub to: Vec<String>,
    /// The raw message after dot-unstuffing: the lines between DATA and the final `.`, joined with
    /// CRLF (a bare LF is read as CRLF). The CRLF before the `.` line ends the data and is not part
    /// of it, so for lettre this is exactly `message.formatted()`.
    pub data: String,
    /// False for [`Behaviour::DropAfterData`]: the client never got an answer.
    pub answered: bool,
}

/// State shared by the handle, the accept loop and every connection task.
struct Shared {
    behaviour: Mutex<Behaviour>,
    received: Mutex<Vec<Received>>,
}

/// A running listener: its accept loop and the tasks serving its connections.
struct Listening {
    accept: JoinHandle<()>,
    connections: Arc<Mutex<JoinSet<()>>>,
}

/// The server; see the module documentation. Dropping it stops the listener and every connection.
pub struct TestSmtp {
    port: u16,
    shared: Arc<Shared>,
    listening: Mutex<Option<Listening>>,
}

/// A poisoned lock only means that another test task panicked while holding it; the data (a list
/// of messages, a behaviour) is still whole, so carry on rather than fail a second time.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TestSmtp {
    /// Starts listening on 127.0.0.1 with a random port, with [`Behaviour::Accept`].
    pub async fn start() -> TestSmtp {
        let listener = bind(0).expect("the test SMTP server can listen on 127.0.0.1");
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let shared = Arc::new(Shared {
            behaviour: Mutex::new(Behaviour::Accept),
            received: Mutex::new(Vec::new()),
        });
        let listening = Listening::spawn(listener, Arc::clone(&shared));
        TestSmtp {
            port,
            shared,
            listening: Mutex::new(Some(listening)),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the server does from now on, on every connection, open or new. Each behaviour is read
    /// when it matters (RCPT TO, the end of DATA), so a change applies from the next such point.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *lock(&self.shared.behaviour) = behaviour;
    }

    /// Every message accepted so far, in order: those answered 250 at the end of DATA, and those
    /// read under [`Behaviour::DropAfterData`]. A message is recorded before its 250 is sent, so
    /// it is here as soon as the client's send has returned.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// Waits (polling every 20 ms, at most `timeout`) until at least `count` messages were
    /// received, and returns them all; after the timeout it returns what there is, possibly fewer,
    /// so that the caller's assertion on the length says what was missing.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count || tokio::time::Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops listening and closes every open connection, so that a client sees "connection
    /// refused" on a new connection and an error on a pooled one. Does nothing if already stopped.
    pub async fn stop(&self) {
        let listening = lock(&self.listening).take();
        if let Some(listening) = listening {
            listening.shut_down().await;
        }
    }

    /// Listens again on the same port after [`TestSmtp::stop`]; the messages received so far and
    /// the behaviour are kept. Does nothing if the server is listening.
    pub async fn restart(&self) {
        if lock(&self.listening).is_some() {
            return;
        }
        let listener = bind(self.port).expect("the test SMTP server can listen on its port again");
        let listening = Listening::spawn(listener, Arc::clone(&self.shared));
        *lock(&self.listening) = Some(listening);
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        // Aborting the accept loop drops the listener and its `Arc` of the connection set; ours
        // goes with `self`, and dropping a `JoinSet` aborts every task in it.
        if let Some(listening) = lock(&self.listening).take() {
            listening.accept.abort();
        }
    }
}

/// Binds 127.0.0.1:`port`. SO_REUSEADDR is set so that `restart` can take the port back while the
/// connections that `stop` closed are still in TIME_WAIT.
fn bind(port: u16) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    socket.listen(128)
}

impl Listening {
    fn spawn(listener: TcpListener, shared: Arc<Shared>) -> Listening {
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let set = Arc::clone(&connections);
        let accept = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        // Answer each command at once, as a real server does: with Nagle's
                        // algorithm the client's delayed ACKs would add ~40 ms per exchange.
                        let _ = stream.set_nodelay(true);
                        let mut set = lock(&set);
                        // Reap finished sessions so that a long test does not keep them all.
                        while set.try_join_next().is_some() {}
                        set.spawn(serve(stream, Arc::clone(&shared)));
                    }
                    // Out of file descriptors and the like: wait a little rather than spin.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        });
        Listening {
            accept,
            connections,
        }
    }

    /// Closes the listener and every connection, and waits until they are closed, so that the
    /// caller's next connection attempt finds nothing listening.
    async fn shut_down(self) {
        self.accept.abort();
        // The aborted loop ends with a cancellation error: that is the point.
        let _ = self.accept.await;
        let mut set = std::mem::take(&mut *lock(&self.connections));
        set.shutdown().await;
    }
}

/// The envelope of the message being built on one connection.
#[derive(Default)]
struct Transaction {
    from: Option<String>,
    to: Vec<String>,
}

/// Serves one connection; an I/O error (the client went away) just ends it.
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let _ = session(stream, &shared).await;
}

async fn session(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let (read, mut write) = stream.split();
    let mut reader = BufReader::new(read);
    reply(&mut write, "220 govflow-test-smtp ESMTP ready").await?;
    let mut transaction = Transaction::default();
    loop {
        let Some(line) = read_line(&mut reader, MAX_COMMAND_LINE).await? else {
            return Ok(());
        };
        let line = String::from_utf8_lossy(&line);
        let (verb, argument) = match line.split_once(' ') {
            Some((verb, argument)) => (verb, argument.trim()),
            None => (line.as_ref(), ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                transaction = Transaction::default();
                // 8BITMIME and SMTPUTF8 because lettre refuses to send non-ASCII content or
                // addresses to a server without them; no PIPELINING, which this server lacks.
                let greeting = format!(
                    "250-govflow-test-smtp greets {argument}\r\n250-8BITMIME\r\n250 SMTPUTF8"
                );
                reply(&mut write, &greeting).await?;
            }
            "HELO" => {
                transaction = Transaction::default();
                reply(&mut write, "250 govflow-test-smtp").await?;
            }
            "MAIL" => {
                let Some(address) = envelope_address(argument, "FROM:") else {
                    reply(&mut write, "501 5.5.4 syntax: MAIL FROM:<address>").await?;
                    continue;
                };
                if transaction.from.is_some() {
                    reply(&mut write, "503 5.5.1 nested MAIL command").await?;
                    continue;
                }
                transaction.from = Some(address);
                reply(&mut write, "250 2.1.0 OK").await?;
            }
            "RCPT" => {
                let Some(address) = envelope_address(argument, "TO:") else {
                    reply(&mut write, "501 5.5.4 syntax: RCPT TO:<address>").await?;
                    continue;
                };
                if transaction.from.is_none() {
                    reply(&mut write, "503 5.5.1 MAIL first").await?;
                    continue;
                }
                let rejected = match &*lock(&shared.behaviour) {
                    Behaviour::RejectRecipients(list) => {
                        list.iter().any(|r| r.eq_ignore_ascii_case(&address))
                    }
                    _ => false,
                };
                if rejected {
                    reply(&mut write, "550 5.1.1 no such user").await?;
                } else {
                    transaction.to.push(address);
                    reply(&mut write, "250 2.1.5 OK").await?;
                }
            }
            "DATA" => {
                if transaction.from.is_none() {
                    reply(&mut write, "503 5.5.1 MAIL first").await?;
                    continue;
                }
                if transaction.to.is_empty() {
                    reply(&mut write, "554 5.5.1 no valid recipients").await?;
                    continue;
                }
                reply(&mut write, "354 end data with <CR><LF>.<CR><LF>").await?;
                let Some(data) = read_data(&mut reader).await? else {
                    return Ok(());
                };
                let transaction = std::mem::take(&mut transaction);
                let mut received = Received {
                    from: transaction.from.unwrap_or_default(),
                    to: transaction.to,
                    data,
                    answered: true,
                };
                let behaviour = lock(&shared.behaviour).clone();
                match behaviour {
                    Behaviour::Accept | Behaviour::RejectRecipients(_) => {
                        // Recorded before the 250, so that it is there once the client returns.
                        lock(&shared.received).push(received);
                        reply(&mut write, "250 2.0.0 OK queued").await?;
                    }
                    Behaviour::RejectData { code, text } => {
                        reply(&mut write, &format!("{code} {text}")).await?;
                    }
                    Behaviour::DropAfterData => {
                        received.answered = false;
                        lock(&shared.received).push(received);
                        // Returning drops the stream: the client reads EOF instead of an answer.
                        return Ok(());
                    }
                }
            }
            "RSET" => {
                transaction = Transaction::default();
                reply(&mut write, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(&mut write, "250 2.0.0 OK").await?,
            "QUIT" => {
                reply(&mut write, "221 2.0.0 bye").await?;
                return Ok(());
            }
            _ => reply(&mut write, "500 5.5.2 command not recognised").await?,
        }
    }
}

/// Writes one reply (possibly several lines already joined with CRLF) and its final CRLF.
async fn reply(write: &mut (impl AsyncWrite + Unpin), text: &str) -> io::Result<()> {
    write.write_all(format!("{text}\r\n").as_bytes()).await?;
    write.flush().await
}

/// Reads one line and returns it without its CRLF or bare LF; `None` at the end of the stream. A
/// line longer than `limit` is an error, which ends the session.
async fn read_line(
    reader: &mut (impl AsyncBufRead + Unpin),
    limit: u64,
) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let read = reader.take(limit).read_until(b'\n', &mut line).await?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        // Either the limit was reached or the client closed mid-line; neither is a command.
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "SMTP line too long or cut off",
        ));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

/// Reads message data up to the line `.`, undoing dot-stuffing; `None` if the client went away
/// first. Lines are joined with CRLF whatever their ending was on the wire.
async fn read_data(reader: &mut (impl AsyncBufRead + Unpin)) -> io::Result<Option<String>> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    loop {
        let Some(mut line) = read_line(reader, MAX_DATA_LINE).await? else {
            return Ok(None);
        };
        if line == b"." {
            break;
        }
        if line.first() == Some(&b'.') {
            line.remove(0);
        }
        lines.push(line);
    }
    Ok(Some(
        String::from_utf8_lossy(&lines.join(&b"\r\n"[..])).into_owned(),
    ))
}

/// The address of `FROM:<a@b> PARAMS` or `TO:<a@b>` (prefix compared case-insensitively), without
/// the angle brackets and without the ESMTP parameters that follow (`BODY=8BITMIME`, `SMTPUTF8`).
fn envelope_address(argument: &str, prefix: &str) -> Option<String> {
    let head = argument.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = argument[prefix.len()..].trim_start();
    if let Some(bracketed) = rest.strip_prefix('<') {
        let end = bracketed.find('>')?;
        Some(bracketed[..end].to_owned())
    } else {
        // Some clients omit the brackets; the address then runs to the first space.
        let address = rest.split_whitespace().next()?;
        Some(address.to_owned())
    }
}

impl Received {
    /// The value of a top-level header (first occurrence, name compared case-insensitively), with
    /// folded continuation lines joined and RFC 2047 encoded-words (`=?utf-8?b?…?=`,
    /// `=?utf-8?q?…?=`) decoded; `None` if absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = split_entity(&self.data);
        find_header(&headers, name).map(|value| decode_encoded_words(value.trim()))
    }

    /// The text/plain body: for a multipart message, the first text/plain part that is not an
    /// attachment (searched depth-first). Decoded from quoted-printable or base64, with CRLF line
    /// breaks turned into `\n`. Empty if the message has no text/plain part.
    pub fn text_body(&self) -> String {
        find_text(&self.data, "text/plain").unwrap_or_default()
    }

    /// The text/html part's body, decoded like [`Received::text_body`], if there is one.
    pub fn html_body(&self) -> Option<String> {
        find_text(&self.data, "text/html")
    }
}

/// Splits a message or MIME part into its unfolded headers (name, raw value) and its body (what
/// follows the first empty line; empty if there is none).
fn split_entity(raw: &str) -> (Vec<(String, String)>, &str) {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut offset = 0;
    for line in raw.split_inclusive('\n') {
        offset += line.len();
        let content = line.trim_end_matches(['\r', '\n']);
        if content.is_empty() {
            return (headers, &raw[offset..]);
        }
        if content.starts_with([' ', '\t']) {
            // A folded line: unfolding removes only the line break, the whitespace stays.
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(content);
            }
        } else if let Some((name, value)) = content.split_once(':') {
            headers.push((name.trim().to_owned(), value.to_owned()));
        }
    }
    (headers, "")
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// A header value like `multipart/alternative; boundary="abc"`: the lowercased type, and the
/// parameters with lowercased names and unquoted values.
fn parse_parameterised(value: &str) -> (String, BTreeMap<String, String>) {
    let mut pieces: Vec<String> = vec![String::new()];
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        let current = pieces.last_mut().expect("pieces starts non-empty");
        if escaped {
            current.push(c);
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == ';' && !quoted {
            pieces.push(String::new());
        } else {
            current.push(c);
        }
    }
    let kind = pieces[0].trim().to_ascii_lowercase();
    let parameters = pieces[1..]
        .iter()
        .filter_map(|piece| piece.split_once('='))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (kind, parameters)
}

/// The decoded body of the first leaf part of type `want` (depth-first), skipping attachments.
fn find_text(raw: &str, want: &str) -> Option<String> {
    let (headers, body) = split_entity(raw);
    let (kind, parameters) = find_header(&headers, "Content-Type")
        .map(parse_parameterised)
        .unwrap_or_else(|| ("text/plain".to_owned(), BTreeMap::new()));
    if kind.starts_with("multipart/") {
        let boundary = parameters.get("boundary")?;
        return multipart_parts(body, boundary)
            .into_iter()
            .find_map(|part| find_text(part, want));
    }
    let attachment = find_header(&headers, "Content-Disposition")
        .map(parse_parameterised)
        .is_some_and(|(disposition, _)| disposition == "attachment");
    if kind != want || attachment {
        return None;
    }
    let encoding = find_header(&headers, "Content-Transfer-Encoding")
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let bytes = match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => decode_base64(body),
        _ => body.as_bytes().to_vec(),
    };
    let charset = parameters.get("charset").map_or("utf-8", String::as_str);
    Some(decode_charset(charset, &bytes).replace("\r\n", "\n"))
}

/// The parts of a multipart body: what lies between the `--boundary` lines, up to `--boundary--`.
/// The line break before a boundary line belongs to the boundary (RFC 2046), not to the part.
fn multipart_parts<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    let closing = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut part_start: Option<usize> = None;
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let content = line
            .trim_end_matches(['\r', '\n'])
            .trim_end_matches([' ', '\t']);
        let is_closing = content == closing;
        if content != delimiter && !is_closing {
            continue;
        }
        if let Some(start) = part_start {
            let end = if body[..line_start].ends_with("\r\n") {
                line_start - 2
            } else if body[..line_start].ends_with('\n') {
                line_start - 1
            } else {
                line_start
            };
            parts.push(&body[start..end.max(start)]);
        }
        if is_closing {
            return parts;
        }
        part_start = Some(offset);
    }
    parts
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` is a byte, `=` at the end of a line is a soft line
/// break, and whitespace at the end of a line is transport padding.
fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (content, ending) = match line.strip_suffix("\r\n") {
            Some(content) => (content, "\r\n"),
            None => match line.strip_suffix('\n') {
                Some(content) => (content, "\n"),
                None => (line, ""),
            },
        };
        let content = content.trim_end_matches([' ', '\t']);
        let (content, soft_break) = match content.strip_suffix('=') {
            Some(content) => (content, true),
            None => (content, false),
        };
        let bytes = content.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let byte = bytes[i];
            if byte == b'='
                && let Some(decoded) = bytes.get(i + 1..i + 3).and_then(hex_pair)
            {
                out.push(decoded);
                i += 3;
            } else {
                // A lone `=` not followed by two hex digits is kept, as RFC 2045 suggests.
                out.push(byte);
                i += 1;
            }
        }
        if !soft_break {
            out.extend_from_slice(ending.as_bytes());
        }
    }
    out
}

fn hex_pair(pair: &[u8]) -> Option<u8> {
    let high = (pair[0] as char).to_digit(16)?;
    let low = (pair[1] as char).to_digit(16)?;
    u8::try_from(high * 16 + low).ok()
}

/// Base64 (RFC 4648, standard alphabet); line breaks and other characters outside the alphabet
/// are skipped, and `=` padding ends the data.
fn decode_base64(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            // Masked to one byte, so the cast keeps every bit that matters.
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    out
}

/// Text from bytes in a charset: UTF-8 (and its subset US-ASCII) as lettre writes, ISO-8859-1 for
/// good measure; anything else is read as UTF-8, lossily.
fn decode_charset(charset: &str, bytes: &[u8]) -> String {
    match charset.to_ascii_lowercase().as_str() {
        "iso-8859-1" | "latin1" | "latin-1" => bytes.iter().map(|&b| char::from(b)).collect(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Decodes RFC 2047 encoded-words in a header value. Whitespace between two adjacent
/// encoded-words is dropped (lettre folds a long subject into several words), and the bytes of
/// adjacent words are joined before decoding, in case a character was split between them.
fn decode_encoded_words(value: &str) -> String {
    let mut out = String::new();
    // The bytes of the run of adjacent encoded-words not yet decoded, and their charset.
    let mut pending: Vec<u8> = Vec::new();
    let mut pending_charset = String::new();
    let mut text_start = 0;
    let mut after_word = false;
    let mut i = 0;
    while i < value.len() {
        let word = value[i..]
            .starts_with("=?")
            .then(|| parse_encoded_word(&value[i..]))
            .flatten();
        match word {
            Some((charset, bytes, length)) => {
                let between = &value[text_start..i];
                let joins = after_word && between.chars().all(char::is_whitespace);
                if !joins || charset != pending_charset {
                    out.push_str(&decode_charset(&pending_charset, &pending));
                    pending.clear();
                    if !joins {
                        out.push_str(between);
                    }
                }
                pending_charset = charset;
                pending.extend(bytes);
                i += length;
                text_start = i;
                after_word = true;
            }
            None => {
                let c = value[i..].chars().next().map_or(1, char::len_utf8);
                if !value[i..i + c].chars().all(char::is_whitespace) {
                    // Text between words: flush the run so far, the text comes after it.
                    out.push_str(&decode_charset(&pending_charset, &pending));
                    pending.clear();
                    after_word = false;
                }
                i += c;
            }
        }
    }
    out.push_str(&decode_charset(&pending_charset, &pending));
    out.push_str(&value[text_start..]);
    out
}

/// Parses `=?charset?B|Q?text?=` at the start of `s`: the charset (without an RFC 2231 language),
/// the decoded bytes, and the length of the word in `s`.
fn parse_encoded_word(s: &str) -> Option<(String, Vec<u8>, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, rest) = inner.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let text = &rest[..end];
    if charset.is_empty() || text.contains(char::is_whitespace) {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => decode_base64(text),
        "Q" | "q" => decode_q(text),
        _ => return None,
    };
    let charset = charset.split('*').next().unwrap_or(charset).to_owned();
    let length = 2 + inner.len() - rest.len() + end + 2;
    Some((charset, bytes, length))
}

/// The "Q" encoding of RFC 2047: quoted-printable where `_` stands for a space.
fn decode_q(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'_' {
            out.push(b' ');
            i += 1;
        } else if byte == b'='
            && let Some(decoded) = bytes.get(i + 1..i + 3).and_then(hex_pair)
        {
            out.push(decoded);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    out
}

//! The test SMTP server of the harness (`govflow_tests::smtp`), driven by lettre, the client that
//! govflow's mailer uses, and by hand over TCP: that it accepts and records what lettre sends
//! (non-ASCII subjects and bodies, multipart/alternative), that each `Behaviour` gives lettre the
//! error the mailer tests rely on, and that `stop`/`restart` simulate a server that is down.

use govflow_tests::smtp::{Behaviour, Received, TestSmtp};
use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const SUBJECT: &str = "Consultation: Gouvernance numérique";
const PLAIN: &str = "Bonjour Élodie,\n\nLa consultation « Gouvernance numérique » est ouverte.\n";
const HTML: &str =
    "<p>Bonjour Élodie,</p>\n<p>La consultation « Gouvernance numérique » est ouverte.</p>\n";

fn transport(server: &TestSmtp) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(server.port())
        .timeout(Some(Duration::from_secs(10)))
        .build()
}

fn mailbox(text: &str) -> Mailbox {
    text.parse().expect("a valid mailbox")
}

fn plain_message(to: &[&str], subject: &str, body: &str) -> Message {
    let mut builder = Message::builder()
        .from(mailbox("Govflow <noreply@govflow.test>"))
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    for address in to {
        builder = builder.to(mailbox(address));
    }
    builder.body(body.to_owned()).expect("a valid message")
}

/// Whether the error, or one of its sources, is "connection refused".
fn is_connection_refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        source = error.source();
    }
    false
}

#[tokio::test]
async fn accepts_and_records_what_lettre_sends() {
    let server = TestSmtp::start().await;
    let mailer = transport(&server);

    let first = Message::builder()
        .from(mailbox("Govflow <noreply@govflow.test>"))
        .to(mailbox("Élodie Martin <elodie@example.org>"))
        .subject(SUBJECT)
        .message_id(Some("<first@govflow.test>".to_owned()))
        .multipart(MultiPart::alternative_plain_html(
            PLAIN.to_owned(),
            HTML.to_owned(),
        ))
        .expect("a valid message");
    // Long enough that lettre folds it into several encoded-words.
    let long_subject = "Rappel : la délibération « Budget participatif 2026 » se clôt bientôt, \
                        merci de répondre avant vendredi";
    let body = ".a line that starts with a dot\nand one that does not\n..two dots\n";
    let second = plain_message(
        &["bob@example.org", "Carol <carol@example.org>"],
        long_subject,
        body,
    );

    mailer
        .send(first.clone())
        .await
        .expect("the first message is accepted");
    mailer
        .send(second.clone())
        .await
        .expect("the second message is accepted");

    let received = server.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 2, "{received:#?}");

    let one = &received[0];
    assert!(one.answered);
    assert_eq!(one.from, "noreply@govflow.test");
    assert_eq!(one.to, ["elodie@example.org"]);
    assert_eq!(one.header("subject").as_deref(), Some(SUBJECT));
    assert_eq!(
        one.header("Message-ID").as_deref(),
        Some("<first@govflow.test>")
    );
    assert_eq!(
        one.header("To").as_deref(),
        Some("Élodie Martin <elodie@example.org>")
    );
    assert_eq!(one.header("X-Absent"), None);
    assert_eq!(one.text_body(), PLAIN);
    assert_eq!(one.html_body().as_deref(), Some(HTML));
    // What was recorded is exactly what lettre formatted: no byte lost or added on the way.
    assert_eq!(one.data.as_bytes(), first.formatted());

    let two = &received[1];
    assert_eq!(two.to, ["bob@example.org", "carol@example.org"]);
    assert_eq!(two.header("Subject").as_deref(), Some(long_subject));
    // Dot-stuffing undone: the lines starting with dots arrive as written.
    assert_eq!(two.text_body(), body);
    assert_eq!(two.html_body(), None);
    assert_eq!(two.data.as_bytes(), second.formatted());
}

#[tokio::test]
async fn one_connection_carries_several_messages() {
    // The mailer may keep a connection open (lettre's pool) and check it with NOOP between
    // messages; drive lettre's connection directly, since the workspace's lettre has no pool.
    let server = TestSmtp::start().await;
    let mut connection = AsyncSmtpConnection::connect_tokio1(
        ("127.0.0.1", server.port()),
        Some(Duration::from_secs(10)),
        &ClientId::Domain("govflow.test".to_owned()),
        None,
        None,
    )
    .await
    .expect("lettre connects");
    for n in 1..=3 {
        let message = plain_message(&["bob@example.org"], &format!("Message {n}"), "Hello\n");
        connection
            .send(message.envelope(), &message.formatted())
            .await
            .expect("the message is accepted");
        assert!(connection.test_connected().await, "NOOP is answered 250");
    }
    connection.quit().await.expect("QUIT is answered 221");

    let subjects: Vec<_> = server
        .received()
        .iter()
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect();
    assert_eq!(subjects, ["Message 1", "Message 2", "Message 3"]);
}

#[tokio::test]
async fn a_rejected_recipient_fails_the_send_permanently() {
    let server = TestSmtp::start().await;
    let mailer = transport(&server);
    server.set_behaviour(Behaviour::RejectRecipients(vec![
        "Nobody@Example.org".to_owned(),
    ]));

    let both = plain_message(&["bob@example.org", "nobody@example.org"], "Both", "Hi\n");
    let error = mailer.send(both).await.expect_err("a recipient is refused");
    assert!(error.is_permanent(), "{error:?}");
    assert_eq!(
        error.status().map(|code| code.to_string()).as_deref(),
        Some("550")
    );
    assert!(server.received().is_empty());

    let good = plain_message(&["bob@example.org"], "Good", "Hi\n");
    mailer
        .send(good)
        .await
        .expect("the good recipient is accepted");
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["bob@example.org"]);
    assert_eq!(received[0].header("Subject").as_deref(), Some("Good"));
}

#[tokio::test]
async fn rejected_data_is_a_transient_error() {
    let server = TestSmtp::start().await;
    let mailer = transport(&server);
    server.set_behaviour(Behaviour::RejectData {
        code: 451,
        text: "4.3.0 try again later".to_owned(),
    });

    let message = plain_message(&["bob@example.org"], "Later", "Hi\n");
    let error = mailer
        .send(message.clone())
        .await
        .expect_err("the data is refused");
    assert!(error.is_transient(), "{error:?}");
    assert!(server.received().is_empty());

    // The behaviour can change at any time; the next try goes through.
    server.set_behaviour(Behaviour::Accept);
    mailer.send(message).await.expect("accepted now");
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_drop_after_data_is_an_error_but_the_message_arrived() {
    let server = TestSmtp::start().await;
    let mailer = transport(&server);
    server.set_behaviour(Behaviour::DropAfterData);

    let message = plain_message(&["bob@example.org"], "Maybe", "Did it arrive?\n");
    let error = mailer
        .send(message)
        .await
        .expect_err("no answer to the data");
    assert!(!error.is_permanent() && !error.is_transient(), "{error:?}");

    let received: Vec<Received> = server.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1);
    assert!(!received[0].answered);
    assert_eq!(received[0].text_body(), "Did it arrive?\n");
}

#[tokio::test]
async fn a_stopped_server_refuses_connections_until_restarted() {
    let server = TestSmtp::start().await;
    let port = server.port();
    let mailer = transport(&server);
    mailer
        .send(plain_message(&["bob@example.org"], "Before", "Hi\n"))
        .await
        .expect("accepted while listening");

    server.stop().await;
    let error = mailer
        .send(plain_message(&["bob@example.org"], "Down", "Hi\n"))
        .await
        .expect_err("nothing is listening");
    assert!(is_connection_refused(&error), "{error:?}");

    server.restart().await;
    assert_eq!(server.port(), port);
    mailer
        .send(plain_message(&["bob@example.org"], "After", "Hi\n"))
        .await
        .expect("accepted again on the same port");

    let subjects: Vec<_> = server
        .received()
        .iter()
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect();
    assert_eq!(subjects, ["Before", "After"]);
}

#[tokio::test]
async fn stop_closes_open_connections() {
    let server = TestSmtp::start().await;
    let stream = TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("220 "), "{line:?}");

    server.stop().await;
    line.clear();
    let read = tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line))
        .await
        .expect("the server closes the connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?} {line:?}");
}

/// A raw SMTP client for the cases lettre never produces: bare LF, HELO, RSET, unknown commands.
struct RawClient {
    reader: BufReader<TcpStream>,
}

impl RawClient {
    async fn connect(server: &TestSmtp) -> RawClient {
        let stream = TcpStream::connect(("127.0.0.1", server.port()))
            .await
            .unwrap();
        let mut client = RawClient {
            reader: BufReader::new(stream),
        };
        assert!(client.reply().await.starts_with("220 "));
        client
    }

    /// Reads one reply, all its lines, and returns its last line.
    async fn reply(&mut self) -> String {
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.unwrap();
            assert!(line.len() >= 4, "short reply {line:?}");
            if line.as_bytes()[3] == b' ' {
                return line.trim_end().to_owned();
            }
        }
    }

    async fn send(&mut self, text: &str) {
        self.reader
            .get_mut()
            .write_all(text.as_bytes())
            .await
            .unwrap();
    }

    /// Sends a command and returns the code of its reply.
    async fn command(&mut self, line: &str) -> String {
        self.send(&format!("{line}\r\n")).await;
        self.reply().await[..3].to_owned()
    }
}

#[tokio::test]
async fn speaks_the_rest_of_smtp_by_hand() {
    let server = TestSmtp::start().await;
    let mut client = RawClient::connect(&server).await;

    assert_eq!(client.command("HELO client").await, "250");
    assert_eq!(client.command("VRFY bob").await, "500");
    assert_eq!(client.command("RCPT TO:<bob@example.org>").await, "503");
    assert_eq!(client.command("DATA").await, "503");
    assert_eq!(client.command("NOOP").await, "250");

    // A transaction abandoned with RSET leaves nothing behind.
    assert_eq!(client.command("MAIL FROM:<a@example.org>").await, "250");
    assert_eq!(client.command("RCPT TO:<bob@example.org>").await, "250");
    assert_eq!(client.command("RSET").await, "250");
    assert_eq!(client.command("DATA").await, "503");

    // Bare LF line endings, lowercase commands, no brackets, a null sender.
    client.send("mail from:<>\n").await;
    assert!(client.reply().await.starts_with("250"));
    client.send("rcpt to:carol@example.org\n").await;
    assert!(client.reply().await.starts_with("250"));
    client.send("data\n").await;
    assert!(client.reply().await.starts_with("354"));
    client
        .send("Subject: =?utf-8?q?caf=C3=A9_cr=C3=A8me?= and\n =?UTF-8?B?w6l0w6k=?=\n\n..x\nbody\n.\n")
        .await;
    assert!(client.reply().await.starts_with("250"));

    assert_eq!(client.command("QUIT").await, "221");

    let received = server.received();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.from, "");
    assert_eq!(message.to, ["carol@example.org"]);
    assert_eq!(
        message.data,
        "Subject: =?utf-8?q?caf=C3=A9_cr=C3=A8me?= and\r\n =?UTF-8?B?w6l0w6k=?=\r\n\r\n.x\r\nbody"
    );
    assert_eq!(
        message.header("subject").as_deref(),
        Some("café crème and été")
    );
    assert_eq!(message.text_body(), ".x\nbody");
}

#[tokio::test]
async fn decodes_base64_bodies() {
    // Mostly non-Latin text, for which lettre picks base64 over quoted-printable.
    let server = TestSmtp::start().await;
    let subject = "공개 의견 수렴: 디지털 거버넌스";
    let plain = "안녕하세요,\n\n공개 의견 수렴이 시작되었습니다. 의견을 보내 주십시오.\n";
    let html = "<p>안녕하세요,</p>\n<p>공개 의견 수렴이 시작되었습니다.</p>\n";
    let message = Message::builder()
        .from(mailbox("Govflow <noreply@govflow.test>"))
        .to(mailbox("bob@example.org"))
        .subject(subject)
        .multipart(MultiPart::alternative_plain_html(
            plain.to_owned(),
            html.to_owned(),
        ))
        .expect("a valid message");
    transport(&server)
        .send(message)
        .await
        .expect("the message is accepted");

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(
        received[0]
            .data
            .contains("Content-Transfer-Encoding: base64"),
        "{}",
        received[0].data
    );
    assert_eq!(received[0].header("Subject").as_deref(), Some(subject));
    assert_eq!(received[0].text_body(), plain);
    assert_eq!(received[0].html_body().as_deref(), Some(html));
}

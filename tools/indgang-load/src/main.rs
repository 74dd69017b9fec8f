//! Load generator for indgang: submits N valid release notices (about `--size` bytes each) from
//! C concurrent clients, each awaiting its answer, and prints throughput and latency percentiles.
//! Given several `--url`, the clients are spread over those instances round-robin.
//!
//! Every message names a citizen of its own: the CPR numbers are unique within a run and, unless
//! `--first-citizen` says otherwise, start where the clock puts them, so that the warm-up and the
//! measured run that follows it name different citizens and every message opens a case.
//!
//! With `--rate R` the clients keep to a schedule of R messages per second in all, and latency is
//! measured from each message's scheduled time, so a stalled server cannot hide its queueing
//! (no coordinated omission).
//!
//! With `--amqp URI` the same messages go to RabbitMQ instead, as the yardstick of issue 18: each
//! published, persistent, to a durable queue on a channel with publisher confirms, each client
//! awaiting its confirm before the next (the broker's "durable before the answer"). The clients'
//! channels share `--amqp-connections` connections (default one, the broker's fastest arrangement).

use clap::Parser;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Submit valid release notices to indgang and report throughput and latency")]
struct Args {
    /// The gateway, http://HOST:PORT. Repeat it for several instances: the clients are spread
    /// over them round-robin (client 0 on the first, client 1 on the second, …).
    #[arg(long = "url", value_name = "URL", default_value = "http://127.0.0.1:8080")]
    urls: Vec<String>,
    /// A sender token allowed to submit release notices (indgang token create --role sender …).
    #[arg(long, env = "INDGANG_TOKEN", required_unless_present = "amqp")]
    token: Option<String>,
    /// Publish to RabbitMQ instead of the gateway, e.g. amqp://guest:guest@127.0.0.1:5672/%2f:
    /// persistent messages to a durable queue, a publisher confirm awaited for each.
    #[arg(long, value_name = "URI")]
    amqp: Option<String>,
    /// The durable queue `--amqp` publishes to; it is declared, and emptied before the run.
    #[arg(long, default_value = "indgang-load")]
    amqp_queue: String,
    /// Connections the clients' channels are spread over (one channel per client).
    #[arg(long, default_value_t = 1)]
    amqp_connections: usize,
    /// The token's sender id.
    #[arg(long, default_value = "kif-load")]
    sender: String,
    /// Messages in all.
    #[arg(short = 'n', long, default_value_t = 100_000)]
    messages: usize,
    /// Concurrent clients.
    #[arg(short = 'c', long, default_value_t = 64)]
    concurrency: usize,
    /// Target messages per second in all (open schedule); without it, as fast as answers come.
    #[arg(long)]
    rate: Option<f64>,
    /// Approximate size of each message in bytes.
    #[arg(long, default_value_t = 2048)]
    size: usize,
    /// Runtime threads for the generator itself.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[arg(long, default_value = "751")]
    municipality: String,
    /// The number of the run's first citizen (0 to 67,199,999; the run counts on from it, each
    /// message a new citizen, wrapping at 67,200,000). Default: 20 times the milliseconds since
    /// the Unix epoch, so a run started after another (a warm-up) names other citizens unless it
    /// sends more than 20 messages per millisecond it waited.
    #[arg(long)]
    first_citizen: Option<u64>,
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let authorities: Vec<String> = args
        .urls
        .iter()
        .map(|url| {
            url.trim_end_matches('/')
                .strip_prefix("http://")
                .expect("--url: http://HOST:PORT (the generator speaks plain HTTP/1.1)")
                .to_owned()
        })
        .collect();
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let first_citizen = args.first_citizen.unwrap_or(run_id as u64 * 20) % CITIZENS;
    let template = Template::new(&args.sender, &args.municipality, args.size);
    let per_client_period = args
        .rate
        .map(|rate| Duration::from_secs_f64(args.concurrency as f64 / rate));

    let concurrency = args.concurrency;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clients: Vec<Client> = match &args.amqp {
        Some(uri) => amqp::clients(uri, &args.amqp_queue, args.amqp_connections, args.concurrency).await,
        None => (0..args.concurrency)
            .map(|client_no| {
                let token = args.token.as_deref().expect("clap asks for --token without --amqp");
                Client::Http(Connection::new(&authorities[client_no % authorities.len()], token))
            })
            .collect(),
    };
    let mut clients = clients.into_iter();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.concurrency);
    for client_no in 0..args.concurrency {
        let mut connection = clients.next().expect("one client each");
        let template = template.clone();
        let next = next.clone();
        let count = args.messages / args.concurrency + usize::from(client_no < args.messages % args.concurrency);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
            let mut message_id = String::with_capacity(48);
            // Spread the clients' schedules over one period.
            let offset = per_client_period.map(|p| p.mul_f64(client_no as f64 / concurrency as f64));
            for i in 0..count {
                let scheduled = match (per_client_period, offset) {
                    (Some(period), Some(offset)) => {
                        let at = started + offset + period * i as u32;
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    _ => Instant::now(),
                };
                // Message ids rise across all clients, as a sender's own numbering would.
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                message_id.clear();
                let _ = write!(message_id, "load-{run_id}-{n:010}");
                let status = connection
                    .send(|request| template.render_into(request, &message_id, first_citizen + n as u64))
                    .await;
                latencies.push(scheduled.elapsed().as_micros() as u64);
                *statuses.entry(status).or_default() += 1;
            }
            (latencies, statuses)
        }));
    }
    let mut latencies = Vec::with_capacity(args.messages);
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for task in tasks {
        let (l, s) = task.await.expect("a client task");
        latencies.extend(l);
        for (status, n) in s {
            *statuses.entry(status).or_default() += n;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1] as f64 / 1000.0
    };
    println!("messages      {}", latencies.len());
    println!("concurrency   {}", args.concurrency);
    match &args.amqp {
        Some(_) => println!("broker        RabbitMQ, {} connection(s)", args.amqp_connections),
        None => println!("instances     {}", authorities.len()),
    }
    let mut sample = Vec::new();
    template.render_into(&mut sample, "load-x-0-0", 0);
    println!("body bytes    {}", sample.len());
    println!("citizens      from {first_citizen}, one per message");
    println!("elapsed       {:.2} s", elapsed.as_secs_f64());
    println!("{}", throughput(&statuses, elapsed));
    println!(
        "latency ms    p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(0.999),
        pct(1.0)
    );
    let statuses: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    println!("statuses      {}", statuses.join(", "));
}

/// The headline: only a `202` is a message filed; a `200` (a repeat), a refusal or a broken
/// connection (status 0) is an answer, not throughput. A broker's confirm counts as a `202`, its
/// refusal (a nack) as a `503`.
fn throughput(statuses: &std::collections::BTreeMap<u16, usize>, elapsed: Duration) -> String {
    let accepted = statuses.get(&202).copied().unwrap_or(0);
    let answers: usize = statuses.values().sum();
    format!(
        "throughput    {:.0} accepted messages/s (202); {:.0} answers/s in all",
        accepted as f64 / elapsed.as_secs_f64(),
        answers as f64 / elapsed.as_secs_f64()
    )
}

/// How many distinct CPR numbers `Template::render` makes: 28 days × 12 months × 50 years of
/// birth dates, 4,000 serial numbers each.
const CITIZENS: u64 = 28 * 12 * 50 * 4000;

/// A valid release notice with a fresh message id and CPR number each time.
#[derive(Clone)]
struct Template {
    head: String,
    tails: Vec<String>,
}

const WORDS: &[&str] = &[
    "ønsker",
    "bolig",
    "i",
    "Aarhus",
    "Vest",
    "har",
    "en",
    "hund",
    "og",
    "er",
    "substitutionsbehandling",
    "anstalten",
    "behandlingen",
    "skal",
    "fortsætte",
    "efter",
    "løsladelsen",
    "kontakt",
    "til",
    "familie",
    "ingen",
    "gæld",
    "misbrug",
    "hash",
    "alkohol",
    "netværk",
    "bror",
    "mor",
    "værelse",
    "lejlighed",
    "venteliste",
    "boligforening",
    "kommunen",
    "sagsbehandler",
    "møde",
    "uge",
    "måned",
    "job",
    "uddannelse",
    "kursus",
    "psykiatri",
    "samtale",
    "plan",
    "§",
    "141",
    "handleplan",
    "kontanthjælp",
    "ansøgning",
    "modtaget",
    "aftale",
    "tirsdag",
    "torsdag",
    "formiddag",
    "eftermiddag",
    "gerne",
    "ikke",
    "meget",
    "motiveret",
    "tidligere",
    "herberg",
    "forsorgshjem",
    "gade",
    "sovet",
    "vinter",
    "tilbud",
    "skæv",
    "støtte",
    "bostøtte",
    "CTI",
];

/// About `length` bytes of words chosen by a small generator seeded with `seed`.
fn notes(seed: u64, length: usize) -> String {
    let mut state = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let mut text = String::with_capacity(length + 32);
    while text.len() < length {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let word = WORDS[(state >> 33) as usize % WORDS.len()];
        if !text.is_empty() {
            text.push(if state.is_multiple_of(11) { '.' } else { ' ' });
            if state.is_multiple_of(11) {
                text.push(' ');
            }
        }
        text.push_str(word);
    }
    text
}

impl Template {
    fn new(sender: &str, municipality: &str, size: usize) -> Template {
        let head = format!(
            r#"{{"sent_at":"2026-10-14T10:42:00+02:00","notice_type":"initial","sender":{{"id":"{sender}","name":"Anstalten ved Horsens","contact":{{"name":"Mette Kjærgaard","email":"mette.kjaergaard@kriminalforsorgen.dk","phone":"+45 72 55 38 10"}}}},"municipality":"{municipality}","custody":{{"type":"sentence","admitted_on":"2025-06-02","sentence_length_days":730}},"release":{{"expected_date":"2027-02-09","kind":"parole","supervision":true}},"release_meeting":{{"date":"2026-12-08","place":"Anstalten ved Horsens, mødelokale 2"}},"housing_at_release":"none","income_basis":"social_assistance","employment":"unemployed_not_activated","needs":["housing","income_support","addiction_treatment","action_plan"],"services_started":["none"],"prison_action_plan":true,"municipal_action_plan":"offered","consent":"given","cover_letter":true,"#
        );
        let fixed = head.len() + 120;
        let length = size.saturating_sub(fixed).clamp(1, 3900);
        // Free text as a caseworker would write it: words drawn from a vocabulary, different in
        // every tail, so the message compresses no better than real notes would.
        let tails = (0..64u64)
            .map(|seed| format!(r#""notes":"{}"}}"#, notes(seed, length)))
            .collect();
        Template { head, tails }
    }

    /// The notice of citizen number `citizen`: numbers below `CITIZENS` apart give different CPR
    /// numbers.
    #[cfg(test)]
    fn render(&self, message_id: &str, citizen: u64) -> String {
        let mut body = Vec::new();
        self.render_into(&mut body, message_id, citizen);
        String::from_utf8(body).expect("the template is UTF-8")
    }

    /// Appends the notice to `out` (a request being written: no body of its own is made).
    fn render_into(&self, out: &mut Vec<u8>, message_id: &str, citizen: u64) {
        use std::io::Write as _;
        // A real birth date in 1950–1999 and a seventh digit 0–3 (1900s).
        let n = citizen % CITIZENS;
        let day = 1 + n % 28;
        let month = 1 + (n / 28) % 12;
        let year = 50 + (n / 336) % 50;
        let serial = n / 16_800;
        out.extend_from_slice(self.head.as_bytes());
        let _ = write!(
            out,
            r#""message_id":"{message_id}","citizen":{{"cpr":"{day:02}{month:02}{year:02}-{serial:04}","name":"Belastning Testesen"}},"#
        );
        out.extend_from_slice(self.tails[n as usize % self.tails.len()].as_bytes());
    }
}

/// Where a client's messages go: the gateway over HTTP, or RabbitMQ.
enum Client {
    Http(Connection),
    /// A channel in confirm mode, the queue, and the buffer each message is made in.
    Amqp(lapin::Channel, lapin::types::ShortString, Vec<u8>),
}

impl Client {
    /// The answer's status code as `Connection::post_release_notice` gives it.
    async fn send(&mut self, body: impl FnOnce(&mut Vec<u8>)) -> u16 {
        match self {
            Client::Http(connection) => connection.post_release_notice(body).await,
            Client::Amqp(channel, queue, payload) => amqp::publish(channel, queue, payload, body).await,
        }
    }
}

mod amqp {
    use super::Client;
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueuePurgeOptions};
    use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, types::FieldTable, types::ShortString};

    /// One channel per client, in confirm mode, over `connections` connections; the queue declared
    /// durable and emptied, so that every run starts from the same broker.
    pub async fn clients(uri: &str, queue: &str, connections: usize, clients: usize) -> Vec<Client> {
        let mut opened = Vec::new();
        for _ in 0..connections.max(1) {
            let connection = Connection::connect(uri, ConnectionProperties::default())
                .await
                .unwrap_or_else(|error| panic!("--amqp {uri}: {error}"));
            opened.push(connection);
        }
        let queue = ShortString::from(queue);
        let first = opened[0].create_channel().await.expect("a channel");
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        first
            .queue_declare(queue.clone(), durable, FieldTable::default())
            .await
            .expect("queue.declare");
        first
            .queue_purge(queue.clone(), QueuePurgeOptions::default())
            .await
            .expect("queue.purge");
        let mut channels = Vec::with_capacity(clients);
        for client_no in 0..clients {
            let channel = opened[client_no % opened.len()]
                .create_channel()
                .await
                .expect("a channel");
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .expect("confirm.select");
            channels.push(Client::Amqp(channel, queue.clone(), Vec::with_capacity(8192)));
        }
        channels
    }

    /// Publishes one persistent message, made in `payload` (kept from the last time, as the HTTP
    /// client keeps its buffers), and awaits the broker's confirm: 202 for an ack, 503 for a nack,
    /// 0 when the channel failed.
    pub async fn publish(
        channel: &Channel,
        queue: &ShortString,
        payload: &mut Vec<u8>,
        body: impl FnOnce(&mut Vec<u8>),
    ) -> u16 {
        payload.clear();
        body(payload);
        let persistent = BasicProperties::default().with_delivery_mode(2);
        let options = BasicPublishOptions::default();
        let confirm = match channel
            .basic_publish("".into(), queue.clone(), options, payload, persistent)
            .await
        {
            Ok(confirm) => confirm,
            Err(_) => return 0,
        };
        match confirm.await {
            Ok(confirmation) if confirmation.is_ack() => 202,
            Ok(_) => 503,
            Err(_) => 0,
        }
    }
}

/// One keep-alive HTTP/1.1 connection, written by hand so that the generator spends as little of
/// the shared CPU as it can: a request is one write, an answer is read up to its Content-Length.
struct Connection {
    authority: String,
    head: String,
    stream: Option<tokio::net::TcpStream>,
    buffer: Vec<u8>,
    /// The body and the request being sent, made in place each time.
    body: Vec<u8>,
    request: Vec<u8>,
}

impl Connection {
    fn new(authority: &str, token: &str) -> Connection {
        let head = format!(
            "POST /v1/release-notices HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        );
        Connection {
            authority: authority.to_owned(),
            head,
            stream: None,
            buffer: Vec::with_capacity(4096),
            body: Vec::with_capacity(8192),
            request: Vec::with_capacity(8192),
        }
    }

    /// The answer's status code; 0 when the connection failed (it is opened again next time).
    /// `body` appends the request's body to the buffer it is given.
    async fn post_release_notice(&mut self, body: impl FnOnce(&mut Vec<u8>)) -> u16 {
        match self.exchange(body).await {
            Ok(status) => status,
            Err(_) => {
                self.stream = None;
                0
            }
        }
    }

    async fn exchange(&mut self, body: impl FnOnce(&mut Vec<u8>)) -> std::io::Result<u16> {
        use std::io::Write as _;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        if self.stream.is_none() {
            let stream = tokio::net::TcpStream::connect(&self.authority).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
        }
        let stream = self.stream.as_mut().expect("connected above");
        // The body first, then the request around it, each in a buffer kept from the last time.
        self.body.clear();
        body(&mut self.body);
        let request = &mut self.request;
        request.clear();
        request.extend_from_slice(self.head.as_bytes());
        let _ = write!(request, "Content-Length: {}\r\n\r\n", self.body.len());
        request.extend_from_slice(&self.body);
        stream.write_all(request).await?;

        self.buffer.clear();
        let broken = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer");
        let head_end = loop {
            if let Some(at) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0u8; 4096];
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        };
        let head = std::str::from_utf8(&self.buffer[..head_end]).map_err(|_| broken())?;
        let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).ok_or_else(broken)?;
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .ok_or_else(broken)?;
        let mut have = self.buffer.len() - head_end;
        while have < length {
            let mut chunk = [0u8; 4096];
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            have += read;
        }
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpr(body: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(body).unwrap();
        value["citizen"]["cpr"].as_str().unwrap().to_owned()
    }

    #[test]
    fn every_message_of_a_run_names_another_citizen() {
        let template = Template::new("kif-load", "751", 600);
        let first = 1_764_000_000_000u64 * 20 % CITIZENS;
        let mut seen = std::collections::HashSet::new();
        for n in 0..400_000 {
            let body = template.render("m", first + n);
            assert!(seen.insert(cpr(&body)), "citizen {n} repeats a CPR number");
        }
    }

    #[test]
    fn a_run_after_a_warm_up_names_other_citizens() {
        let template = Template::new("kif-load", "751", 600);
        let warm_up_start = 1_764_000_000_000u64;
        // 5,000 messages in half a second, then the measured run.
        let warm_up: std::collections::HashSet<String> = (0..5_000)
            .map(|n| cpr(&template.render("m", warm_up_start * 20 % CITIZENS + n)))
            .collect();
        let measured = (warm_up_start + 500) * 20 % CITIZENS;
        assert!((0..100_000).all(|n| !warm_up.contains(&cpr(&template.render("m", measured + n)))));
    }

    #[test]
    fn the_headline_counts_only_filed_messages() {
        let statuses = std::collections::BTreeMap::from([(202, 600), (200, 300), (0, 100)]);
        assert_eq!(
            throughput(&statuses, Duration::from_secs(2)),
            "throughput    300 accepted messages/s (202); 500 answers/s in all"
        );
    }
}

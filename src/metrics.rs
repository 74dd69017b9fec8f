//! Counters in the Prometheus text format at `GET /metrics`. Labels are kinds, outcomes and
//! reasons only: never a sender's message id, a case or anything personal.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntakeLabels {
    pub kind: String,
    /// accepted | duplicate | rejected
    pub outcome: String,
    /// Why a message was rejected (`invalid`, `malformed_json` …); empty otherwise.
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    /// A destination id or `mail:<team>`.
    pub destination: String,
    /// delivered | retry | dead
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    intake: Family<IntakeLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    refused_credentials: Counter,
    scheduler_leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("indgang");
        let intake = Family::<IntakeLabels, Counter>::default();
        registry.register(
            "intake_messages",
            "Messages submitted, by kind and outcome",
            intake.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "delivery_attempts",
            "Delivery attempts, by destination and outcome",
            deliveries.clone(),
        );
        let refused_credentials = Counter::default();
        registry.register(
            "refused_credentials",
            "Requests refused for missing, unknown or revoked tokens",
            refused_credentials.clone(),
        );
        let scheduler_leader = Gauge::default();
        registry.register(
            "scheduler_leader",
            "1 while this instance runs the deadline scheduler (fires deadlines, makes digests), else 0",
            scheduler_leader.clone(),
        );
        Metrics {
            registry,
            intake,
            deliveries,
            refused_credentials,
            scheduler_leader,
        }
    }
}

impl Metrics {
    pub fn intake(&self, kind: &str, outcome: &str, reason: &str) {
        self.intake
            .get_or_create(&IntakeLabels {
                kind: kind.into(),
                outcome: outcome.into(),
                reason: reason.into(),
            })
            .inc();
    }

    pub fn delivery(&self, destination: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                destination: destination.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn refused_credentials(&self) {
        self.refused_credentials.inc();
    }

    pub fn scheduler_leader(&self, leading: bool) {
        self.scheduler_leader.set(i64::from(leading));
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

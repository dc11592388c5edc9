//! Every key the pipeline writes, as one type.
//!
//! The strings are the stored form (and stay compatible with state written by
//! earlier versions); code builds and reads keys only through [`StateKey`],
//! so the digest dispatches on a variant, never on a string prefix.

use std::fmt;

/// A record in the state store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StateKey {
    /// What is remembered about one finding (`finding/<account>/<region>/<id>`),
    /// one coverage incident (`coverage/<account>/<region>/<resource>`), or one
    /// other event (`event/<id>`): the alert's identity, computed by
    /// [`crate::alert::enrich`] before anything is decided.
    Subject(String),
    /// A route's group window (`group/<route>/<group key>`).
    Group { route: String, group: String },
    /// A destination's storm counter for one window (`storm/<destination>/<window start>`).
    Storm {
        destination: String,
        window_start: i64,
    },
    /// The claim that makes one delivery happen at most once
    /// (`delivery/<alert id>/<route>/<destination>`).
    Delivery {
        alert: String,
        route: String,
        destination: String,
    },
}

impl StateKey {
    /// Reads a stored key back. Keys no variant produces give `None`.
    pub fn parse(key: &str) -> Option<StateKey> {
        let (kind, rest) = key.split_once('/')?;
        match kind {
            "finding" | "coverage" | "event" => Some(StateKey::Subject(key.to_string())),
            "group" => {
                let (route, group) = rest.split_once('/')?;
                Some(StateKey::Group {
                    route: route.to_string(),
                    group: group.to_string(),
                })
            }
            "storm" => {
                let (destination, start) = rest.rsplit_once('/')?;
                Some(StateKey::Storm {
                    destination: destination.to_string(),
                    window_start: start.parse().ok()?,
                })
            }
            "delivery" => {
                let (rest, destination) = rest.rsplit_once('/')?;
                let (alert, route) = rest.rsplit_once('/')?;
                Some(StateKey::Delivery {
                    alert: alert.to_string(),
                    route: route.to_string(),
                    destination: destination.to_string(),
                })
            }
            _ => None,
        }
    }

    /// Whether this is a coverage incident's record.
    pub fn is_coverage(&self) -> bool {
        matches!(self, StateKey::Subject(k) if k.starts_with("coverage/"))
    }
}

impl fmt::Display for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateKey::Subject(key) => f.write_str(key),
            StateKey::Group { route, group } => write!(f, "group/{route}/{group}"),
            StateKey::Storm {
                destination,
                window_start,
            } => write!(f, "storm/{destination}/{window_start}"),
            StateKey::Delivery {
                alert,
                route,
                destination,
            } => write!(f, "delivery/{alert}/{route}/{destination}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_as_written() {
        let keys = [
            StateKey::Subject("finding/123456789012/us-east-1/abc".into()),
            StateKey::Subject("coverage/123456789012/us-east-1/ecs/prod".into()),
            StateKey::Group {
                route: "runtime".into(),
                group: "Execution:Runtime/X|1|prod/a".into(),
            },
            StateKey::Storm {
                destination: "chat".into(),
                window_start: 1_700_000_400,
            },
            StateKey::Delivery {
                alert: "digest/abc".into(),
                route: "runtime".into(),
                destination: "chat".into(),
            },
        ];
        for key in keys {
            assert_eq!(StateKey::parse(&key.to_string()), Some(key));
        }
        assert_eq!(StateKey::parse("plan/x"), None);
        assert!(StateKey::parse("coverage/a/b/c").is_some_and(|k| k.is_coverage()));
    }
}

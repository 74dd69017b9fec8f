//! Roles from the provider's claims: `auth.oidc.roles_claim` names the claim (`groups`,
//! `roles`, …), and each `[[auth.oidc.roles]]` gives the role one of its values stands for.
//! A person gets every role one of their values maps to, in the order of the mapping.

use crate::auth::Role;
use crate::config::{OidcSettings, valid_id};
use crate::domain::Kommunekode;
use anyhow::bail;

#[derive(Debug, Clone)]
pub struct RoleMap {
    claim: String,
    entries: Vec<(String, Role)>,
}

impl RoleMap {
    /// Checks `auth.oidc.roles_claim` and `auth.oidc.roles`.
    pub fn from_settings(settings: &OidcSettings) -> anyhow::Result<RoleMap> {
        let claim = settings.roles_claim.trim();
        if claim.is_empty() {
            bail!("auth.oidc.roles_claim: name the claim whose values give roles (e.g. groups or roles)");
        }
        let mut entries = Vec::new();
        for (index, entry) in settings.roles.iter().enumerate() {
            let key = format!("auth.oidc.roles[{index}]");
            if entry.value.is_empty() {
                bail!("{key}.value: name the claim value");
            }
            let place = || -> anyhow::Result<(String, Option<String>)> {
                let Some(municipality) = &entry.municipality else {
                    bail!(
                        "{key}.municipality: a {} needs a municipality (kommunekode)",
                        entry.role
                    );
                };
                let municipality = Kommunekode::parse(municipality)
                    .map_err(|e| anyhow::anyhow!("{key}.municipality: {municipality:?}: {e}"))?;
                if let Some(team) = &entry.team
                    && !valid_id(team)
                {
                    bail!("{key}.team: {team:?} is not a team id (lower-case letters, digits and _)");
                }
                Ok((municipality.to_string(), entry.team.clone()))
            };
            let role = match entry.role.as_str() {
                "caseworker" => {
                    let (municipality, team) = place()?;
                    Role::Caseworker { municipality, team }
                }
                "team_lead" => {
                    let (municipality, team) = place()?;
                    Role::TeamLead { municipality, team }
                }
                "operator" | "auditor" => {
                    if entry.municipality.is_some() || entry.team.is_some() {
                        bail!("{key}: an {} has no municipality or team", entry.role);
                    }
                    if entry.role == "operator" {
                        Role::Operator
                    } else {
                        Role::Auditor
                    }
                }
                other => bail!("{key}.role: {other:?} is none of caseworker, team_lead, operator, auditor"),
            };
            entries.push((entry.value.clone(), role));
        }
        Ok(RoleMap {
            claim: claim.to_owned(),
            entries,
        })
    }

    /// The claim looked at.
    pub fn claim(&self) -> &str {
        &self.claim
    }

    /// The roles the claim's values give, in the mapping's order, each once.
    pub fn roles(&self, values: &[String]) -> Vec<Role> {
        let mut roles: Vec<Role> = Vec::new();
        for (value, role) in &self.entries {
            if values.contains(value) && !roles.contains(role) {
                roles.push(role.clone());
            }
        }
        roles
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RoleMappingSettings;

    fn settings(roles: Vec<RoleMappingSettings>) -> OidcSettings {
        OidcSettings {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: None,
            redirect_url: String::new(),
            post_logout_redirect_url: String::new(),
            scopes: vec!["openid".into()],
            roles_claim: "groups".into(),
            roles,
        }
    }

    fn mapping(value: &str, role: &str, municipality: Option<&str>, team: Option<&str>) -> RoleMappingSettings {
        RoleMappingSettings {
            value: value.into(),
            role: role.into(),
            municipality: municipality.map(Into::into),
            team: team.map(Into::into),
        }
    }

    #[test]
    fn values_give_their_roles_in_the_mappings_order() {
        let map = RoleMap::from_settings(&settings(vec![
            mapping("aarhus-modtagelse", "caseworker", Some("751"), Some("modtagelse")),
            mapping("it-drift", "operator", None, None),
        ]))
        .unwrap();
        let roles = map.roles(&["it-drift".into(), "aarhus-modtagelse".into(), "unknown".into()]);
        assert_eq!(
            roles,
            vec![
                Role::Caseworker {
                    municipality: "751".into(),
                    team: Some("modtagelse".into())
                },
                Role::Operator
            ]
        );
        assert!(map.roles(&["unknown".into()]).is_empty());
    }

    #[test]
    fn a_bad_mapping_names_its_key() {
        let error = |m| RoleMap::from_settings(&settings(vec![m])).unwrap_err().to_string();
        assert!(error(mapping("x", "caseworker", None, None)).starts_with("auth.oidc.roles[0].municipality"));
        assert!(error(mapping("x", "caseworker", Some("999"), None)).starts_with("auth.oidc.roles[0].municipality"));
        assert!(error(mapping("x", "admin", None, None)).starts_with("auth.oidc.roles[0].role"));
        assert!(error(mapping("x", "auditor", Some("751"), None)).starts_with("auth.oidc.roles[0]"));
        assert!(error(mapping("x", "team_lead", Some("751"), Some("Bad Team"))).starts_with("auth.oidc.roles[0].team"));
    }
}

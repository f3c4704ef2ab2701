//! Policy changes are governed changes. The policy set in force when a database is first served
//! is recorded as approved; a server started on a different set refuses to start unless a change
//! request for `change governance policy` naming that set's SHA-256 was approved (under the
//! policy then in force), and the adoption is audited with the diff of the files.

use super::action::{Action, Resource};
use super::changes::POLICY_CHANGE_SETTING;
use super::error::GovernanceError;
use super::gate::Verdict;
use super::service::{Actor, Governance, now_micros};
use crate::store::{PolicyCopy, Store, StoreTx};

/// The setting holding the approved policy set: its SHA-256, then each file's SHA-256.
pub const APPROVED_POLICY_SETTING: &str = "approved_policy";

/// The lines removed (`-`) and added (`+`) between two texts, from their longest common
/// subsequence of lines (policy files are short, so the quadratic table is small).
pub fn line_diff(old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let mut common = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            i += 1;
            j += 1;
        } else if j < new.len() && (i == old.len() || common[i][j + 1] >= common[i + 1][j]) {
            out.push_str(&format!("+{}\n", new[j]));
            j += 1;
        } else {
            out.push_str(&format!("-{}\n", old[i]));
            i += 1;
        }
    }
    out
}

impl<S: Store> Governance<S> {
    /// Stores a copy of every policy file in force and checks that the set is the approved one.
    /// The first set ever enforced on a database becomes the approved one; a different set is
    /// adopted only when its change was approved, and is refused otherwise.
    pub async fn record_policies(&self, actor: Actor<'_>) -> Result<(), GovernanceError> {
        let resource = Resource::Setting(APPROVED_POLICY_SETTING.into());
        let (mut tx, permit, pending) = self
            .open_change(
                actor,
                Action::ChangePolicy,
                &resource,
                (Verdict::Allow, String::new()),
                "enforce_policy",
            )
            .await?;
        let set = &self.policies;
        let current = std::iter::once(set.sha256.as_str())
            .chain(set.files.iter().map(|file| file.sha256.as_str()))
            .collect::<Vec<_>>()
            .join(" ");
        let outcome = async {
            let at = now_micros();
            let approved = tx.setting(APPROVED_POLICY_SETTING).await?;
            let old_texts = match &approved {
                Some(value) => {
                    let mut texts = String::new();
                    for sha in value.split_whitespace().skip(1) {
                        texts.push_str(&tx.policy_text(sha).await?.unwrap_or_default());
                    }
                    texts
                }
                None => String::new(),
            };
            for file in &set.files {
                let copy = PolicyCopy {
                    sha256: &file.sha256,
                    kind: file.kind_name(),
                    system_id: file.system_id(),
                    text: &file.text,
                    at,
                };
                tx.record_policy(&permit, &copy).await?;
            }
            let approved_sha = approved
                .as_deref()
                .and_then(|value| value.split_whitespace().next())
                .map(str::to_string);
            match approved_sha {
                None => {
                    tx.put_setting(&permit, APPROVED_POLICY_SETTING, &current, at)
                        .await?;
                    Ok(format!(
                        "policy set {} in force, recorded as the approved policy (first start on this database)",
                        set.sha256
                    ))
                }
                Some(approved) if approved == set.sha256 => {
                    Ok(format!("policy set {} in force (the approved policy)", set.sha256))
                }
                Some(approved) => {
                    let authorized = tx.setting(POLICY_CHANGE_SETTING).await?;
                    if authorized.as_deref() != Some(set.sha256.as_str()) {
                        return Err(GovernanceError::Invalid(format!(
                            "the policy files given (policy set sha256 {}) differ from the approved policy (sha256 {approved}); \
                             restore the approved files, or have the change approved first: under the approved policy, file a change request \
                             for `change governance policy` with proposed value {} and collect its approvals",
                            set.sha256, set.sha256
                        )));
                    }
                    tx.put_setting(&permit, APPROVED_POLICY_SETTING, &current, at)
                        .await?;
                    let new_texts: String = set.files.iter().map(|file| file.text.as_str()).collect();
                    Ok(format!(
                        "policy set {} adopted in place of {approved}, as its approved change request allows; diff:\n{}",
                        set.sha256,
                        line_diff(&old_texts, &new_texts)
                    ))
                }
            }
        }
        .await;
        self.finish(tx, pending, outcome, Clone::clone)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::line_diff;

    #[test]
    fn the_diff_names_removed_and_added_lines() {
        assert_eq!(line_diff("a\nb\nc\n", "a\nc\nd\n"), "-b\n+d\n");
        assert_eq!(line_diff("", "x\n"), "+x\n");
        assert_eq!(line_diff("same\n", "same\n"), "");
    }
}

//! The stages of a model's life and the only moves between them. A move is a [`Transition`],
//! and each transition has one fixed source and one fixed target, so code cannot ask for a move
//! the registry does not allow (candidate straight to production, archived back to staging):
//! such a value cannot be written. The move to production also takes a [`Clearance`], which only
//! [`super::promotion::clear_for_production`] makes.

use crate::store::ModelStage;

/// A move between stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Candidate to staging: the candidate starts scoring beside production without alerting.
    Stage,
    /// Staging to production, with the clearance the promotion checks gave.
    Promote(Clearance),
    /// Production to archived: replaced by a newer model or rolled back.
    Retire,
    /// Archived to production: a rollback to a model that ran before.
    Restore,
    /// Candidate or staging to archived: a person rejected it.
    Reject,
}

/// Proof that a staging model passed every promotion check; made only by the promotion module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clearance {
    pub(super) _checked: (),
}

/// Why a move was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a model in stage {from} cannot {verb}; only a model in stage {expected} can")]
pub struct WrongStage {
    pub from: ModelStage,
    pub verb: &'static str,
    pub expected: &'static str,
}

impl Transition {
    /// The verb the audit log and messages use.
    pub fn verb(self) -> &'static str {
        match self {
            Transition::Stage => "be staged",
            Transition::Promote(_) => "be promoted to production",
            Transition::Retire => "be retired",
            Transition::Restore => "be restored to production",
            Transition::Reject => "be rejected",
        }
    }

    /// The stage the move starts from and the one it ends in.
    fn edges(self) -> (&'static [ModelStage], ModelStage) {
        match self {
            Transition::Stage => (&[ModelStage::Candidate], ModelStage::Staging),
            Transition::Promote(_) => (&[ModelStage::Staging], ModelStage::Production),
            Transition::Retire => (&[ModelStage::Production], ModelStage::Archived),
            Transition::Restore => (&[ModelStage::Archived], ModelStage::Production),
            Transition::Reject => (
                &[ModelStage::Candidate, ModelStage::Staging],
                ModelStage::Archived,
            ),
        }
    }

    /// The stage after the move from `from`, or why the move is not possible.
    pub fn apply(self, from: ModelStage) -> Result<ModelStage, WrongStage> {
        let (sources, target) = self.edges();
        if sources.contains(&from) {
            Ok(target)
        } else {
            Err(WrongStage {
                from,
                verb: self.verb(),
                expected: match sources {
                    [ModelStage::Candidate] => "candidate",
                    [ModelStage::Staging] => "staging",
                    [ModelStage::Production] => "production",
                    [ModelStage::Archived] => "archived",
                    _ => "candidate or staging",
                },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(transition: Transition, from: ModelStage, expected: Option<ModelStage>) {
        assert_eq!(
            transition.apply(from).ok(),
            expected,
            "{transition:?} from {from}"
        );
    }

    #[test]
    fn only_the_listed_moves_are_possible() {
        use ModelStage::*;
        let clearance = Clearance { _checked: () };
        check(Transition::Stage, Candidate, Some(Staging));
        check(Transition::Stage, Production, None);
        check(Transition::Promote(clearance), Staging, Some(Production));
        check(Transition::Promote(clearance), Candidate, None);
        check(Transition::Promote(clearance), Archived, None);
        check(Transition::Retire, Production, Some(Archived));
        check(Transition::Retire, Staging, None);
        check(Transition::Restore, Archived, Some(Production));
        check(Transition::Restore, Candidate, None);
        check(Transition::Reject, Candidate, Some(Archived));
        check(Transition::Reject, Staging, Some(Archived));
        check(Transition::Reject, Production, None);
    }

    #[test]
    fn a_wrong_move_names_both_stages() {
        let error = Transition::Stage.apply(ModelStage::Archived).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a model in stage archived cannot be staged; only a model in stage candidate can"
        );
    }
}

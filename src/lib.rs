//! trailkey: decides, the way AWS evaluates policies, whether a KMS key policy lets CloudTrail
//! encrypt and describe with the key for each trail and event data store, whether the right
//! people can decrypt the logs, and whether the policy is least-privilege.
//!
//! Layers, each using only the ones before it: [`policy`] (model + parser) → [`eval`]
//! (decisions) → [`checker`] (CloudTrail requirements → findings and fixes) → [`report`]
//! (renderers) → [`rule`] (the Config rule's pure logic) → [`handler`] (the rule's Lambda
//! handler) and [`scan`] (`trailkey scan`), both over [`aws`] (the only AWS SDK user).
#![warn(missing_docs)]

#[cfg(feature = "aws")]
pub mod aws;
pub mod checker;
pub mod eval;
#[cfg(feature = "aws")]
pub mod handler;
pub mod policy;
pub mod report;
pub mod rule;
#[cfg(feature = "aws")]
pub mod scan;

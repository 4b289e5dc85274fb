//! The guide's Rust snippets as doc tests: each chapter of `docs/src` is this crate's
//! documentation under `cargo test --doc`, so a snippet that stops compiling fails the test
//! command. Blocks marked `text`, `sh`, `toml`, `json` or `python` are not Rust and are skipped.

macro_rules! chapters {
    ($($name:ident => $file:literal),* $(,)?) => {
        $(
            #[cfg(doctest)]
            #[doc = include_str!(concat!("../../src/", $file))]
            pub struct $name;
        )*
    };
}

chapters! {
    Introduction => "introduction.md",
    Running => "running.md",
    Worker => "worker.md",
    Streams => "streams.md",
    Retries => "retries.md",
    Tracing => "tracing.md",
    Security => "security.md",
    LocalLambda => "local-lambda.md",
    ObjectSummary => "object-summary.md",
    Deploying => "deploying.md",
    ChoosingAPath => "choosing-a-path.md",
    AtAwsScale => "at-aws-scale.md",
    Reliability => "reliability.md",
    Powertools => "powertools.md",
}

/// The README, whose Rust is the hello worker (`examples/hello`, built by
/// `scripts/check-crates`) quoted as a file; any other Rust block in it is compiled here.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct Readme;

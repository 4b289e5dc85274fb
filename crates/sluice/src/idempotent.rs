//! Any async function made idempotent with the handlers' protocol: the key is claimed with a
//! lease (renewed while the function runs), the output is stored on success and returned to
//! every later call with the same key, and a failure releases the claim so a retry runs again.
//! For work that is not an SQS or SNS item: an API handler calling a payment provider, one step
//! of a batch, a webhook receiver.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Deadline;
use crate::idempotency::{Admission, Idempotency};

/// Why an idempotent call returned no output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdempotentError<E> {
    /// The function ran and failed; its claim was released, so a retry runs it again.
    #[error("{0}")]
    Failed(E),
    /// Not run now: another call holds the key, or the store did not answer. Try again later.
    #[error("not run now: {0}")]
    Busy(String),
    /// Not run: the key was used with a different payload fingerprint.
    #[error("not run: {0}")]
    Refused(String),
    /// The function was stopped: another call took the claim over after a renewal failed.
    #[error("stopped: {0}")]
    Superseded(String),
    /// The output could not be stored as JSON, or a stored output could not be read as `T`.
    #[error("output is not the JSON of its type: {0}")]
    Output(#[source] serde_json::Error),
}

impl Idempotency {
    /// Runs `function` once per `key`: a later call with the same key gets the first call's
    /// output without running it. `fingerprint` (a digest of the call's payload) makes a reuse
    /// of the key with another payload an error instead of a silent replay. The store calls
    /// stay within `deadline`.
    ///
    /// ```
    /// # tokio_test_block_on(async {
    /// use std::time::Duration;
    /// use sluice::{Deadline, Idempotency, IdempotentError};
    /// use sluice_idempotency::MemoryStore;
    ///
    /// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    /// struct Charge { id: String, cents: u64 }
    ///
    /// async fn charge(order: &str, cents: u64) -> Result<Charge, std::io::Error> {
    ///     Ok(Charge { id: format!("ch_{order}"), cents }) // the payment provider, called once
    /// }
    ///
    /// let payments = Idempotency::new(MemoryStore::new()).key_prefix("payments");
    /// let deadline = Deadline::after(Duration::from_secs(10));
    /// let first = payments.call("order-42", Some("cents=1250"), &deadline, || charge("order-42", 1250)).await?;
    /// let again = payments
    ///     .call("order-42", Some("cents=1250"), &deadline, || async { panic!("not called twice") })
    ///     .await?;
    /// assert_eq!(first, again);
    /// let other = payments.call("order-42", Some("cents=999"), &deadline, || charge("order-42", 999)).await;
    /// assert!(matches!(other, Err(IdempotentError::Refused(_))));
    /// # Ok::<(), IdempotentError<std::io::Error>>(()) });
    /// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f) }
    /// ```
    pub async fn call<T, E, F, Fut>(
        &self,
        key: &str,
        fingerprint: Option<&str>,
        deadline: &Deadline,
        function: F,
    ) -> Result<T, IdempotentError<E>>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let cutoff = deadline.instant();
        match self.admit(Some(key.to_owned()), fingerprint, deadline, cutoff).await {
            Admission::Duplicate { output } => serde_json::from_str(&output).map_err(IdempotentError::Output),
            Admission::Refused { retryable: true, reason } => Err(IdempotentError::Busy(reason)),
            Admission::Refused { retryable: false, reason } => Err(IdempotentError::Refused(reason)),
            Admission::Run { lease: None, .. } => function().await.map_err(IdempotentError::Failed),
            Admission::Run { lease: Some(lease), .. } => match self.hold(&lease, deadline, function()).await {
                Err(lost) => Err(IdempotentError::Superseded(lost)),
                Ok(Err(e)) => {
                    self.release(&lease, cutoff).await;
                    Err(IdempotentError::Failed(e))
                }
                Ok(Ok(output)) => match serde_json::to_string(&output) {
                    Ok(json) => {
                        self.complete(&lease, &json, cutoff).await;
                        Ok(output)
                    }
                    Err(e) => {
                        self.release(&lease, cutoff).await;
                        Err(IdempotentError::Output(e))
                    }
                },
            },
        }
    }
}

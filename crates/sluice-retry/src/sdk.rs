//! The AWS SDK retries its own calls; sluice configures it rather than wrapping it.
//!
//! The SDK's standard mode already retries throttling, transient and 5xx errors with full
//! jitter and a retry quota (smithy-rs `aws-smithy-runtime`, standard retry strategy). A second
//! loop around an SDK call would multiply attempts (3 x 3 = 9) and bypass the quota. So SDK
//! clients get a [`RetryConfig`] built from the same [`RetryPolicy`] as everything else.

use aws_smithy_types::retry::RetryConfig;

use crate::RetryPolicy;

impl RetryPolicy {
    /// The SDK's standard retry mode with this policy's attempts, base and cap.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = sluice_retry::RetryPolicy::default().max_attempts(4).cap(Duration::from_secs(2)).sdk_retry_config();
    /// assert_eq!(config.max_attempts(), 4);
    /// assert_eq!(config.max_backoff(), Duration::from_secs(2));
    /// ```
    pub fn sdk_retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(self.base)
            .with_max_backoff(self.cap)
    }
}

//! The trace of the record being processed, for code that cannot be handed it.
//!
//! A handler knows each record's trace and passes it to the processor in its context. Code
//! below the processor (an AWS SDK interceptor, an HTTP client's middleware) is not handed
//! anything, so the handler also runs each record inside [`scope`], and such code asks
//! [`current`]. The value is task-local, not process-wide: records processed concurrently in one
//! invocation, or invocations run concurrently, each see their own. (Lambda's
//! `_X_AMZN_TRACE_ID` variable is process-wide, so it names some invocation's trace, not
//! necessarily yours, as soon as two run at once.)

use std::future::Future;

use crate::TraceContext;

tokio::task_local! {
    static CURRENT: TraceContext;
}

/// Runs `future` with `ctx` as its [`current`] trace; with `None`, runs it unchanged (an outer
/// scope's trace, if any, stays current).
///
/// ```
/// use sluice_trace::{TraceContext, current, scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let record = TraceContext::generate();
/// let seen = scope(Some(record), async { current() }).await;
/// assert_eq!(seen, Some(record));
/// assert_eq!(current(), None);
/// # }
/// ```
pub async fn scope<F: Future>(ctx: Option<TraceContext>, future: F) -> F::Output {
    match ctx {
        Some(ctx) => CURRENT.scope(ctx, future).await,
        None => future.await,
    }
}

/// The trace of the innermost [`scope`] this task runs in, if any.
pub fn current() -> Option<TraceContext> {
    CURRENT.try_with(|ctx| *ctx).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_scopes_in_one_task_each_see_their_own() {
        let (a, b) = (TraceContext::generate(), TraceContext::generate());
        let check = |ctx: TraceContext| async move {
            for _ in 0..3 {
                assert_eq!(current(), Some(ctx));
                tokio::task::yield_now().await;
            }
            ctx
        };
        let (seen_a, seen_b) = tokio::join!(scope(Some(a), check(a)), scope(Some(b), check(b)));
        assert_eq!((seen_a, seen_b), (a, b));
        let nested = scope(Some(a), scope(None, async { current() })).await;
        assert_eq!(nested, Some(a), "a None scope keeps the outer trace");
    }
}

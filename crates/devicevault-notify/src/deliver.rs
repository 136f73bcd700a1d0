//! What sends, as a trait: the crate's own [`Notifier`](crate::Notifier)
//! (feature `delivery`) or whatever the caller assembles in its place.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::channel::Channel;
use crate::error::DeliveryError;
use crate::event::Event;
use crate::render::MessageContext;

/// One delivery under way.
pub type Delivery<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

/// Delivers `events` to `channel`, once, bounded; the error says whether
/// a retry can help. Object-safe, so a process holds one behind an `Arc`.
pub trait Deliver: Send + Sync + fmt::Debug {
    fn deliver<'a>(
        &'a self,
        channel: &'a Channel,
        events: &'a [Event],
        ctx: &'a MessageContext,
    ) -> Delivery<'a>;
}

#[cfg(feature = "delivery")]
impl Deliver for crate::Notifier {
    fn deliver<'a>(
        &'a self,
        channel: &'a Channel,
        events: &'a [Event],
        ctx: &'a MessageContext,
    ) -> Delivery<'a> {
        Box::pin(crate::Notifier::deliver(self, channel, events, ctx))
    }
}

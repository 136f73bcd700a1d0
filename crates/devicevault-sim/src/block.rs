//! Address-block mode: a whole fleet behind one listening port, each device
//! at its own loopback address, so that a fleet larger than the process's
//! file descriptor limit (or than the ~64,000 ports of one address) fits in
//! one process.
//!
//! Linux routes all of 127.0.0.0/8 to `lo`, so a connection to any
//! 127.x.y.z reaches a listener bound to the wildcard address, and the
//! accepted socket's local address is the one the client dialled: that
//! names the device. A listener on 127.0.0.1 alone accepts only 127.0.0.1,
//! and `IP_FREEBIND`/`IP_TRANSPARENT` would need privileges, so the
//! listener is bound to 0.0.0.0 — and every connection that is not from a
//! loopback peer to an address of the block is closed at once, before a
//! byte is sent: nothing beyond the machine reaches a device (the kernel
//! already drops packets for 127/8 arriving on another interface).
//!
//! Device `i` is at the `i`-th address counted from the first, skipping
//! the `.0` and `.255` of every /24 (tools treat those as network and
//! broadcast addresses), so the address and the index are arithmetic of
//! each other and the lookup needs no table.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::device::Shared;
use crate::{SimError, https, server, telnet};

/// Host addresses per /24 (`.1` to `.254`).
const PER_24: u32 = 254;

/// The addresses of a fleet: `devices` consecutive loopback addresses from
/// `first`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AddressBlock {
    /// Ordinal of the first address (see [`ordinal`]).
    first: u32,
    devices: usize,
}

/// The position of `a` among the addresses that end in 1 to 254; `None`
/// for a `.0` or `.255`.
fn ordinal(a: Ipv4Addr) -> Option<u32> {
    let n = u32::from(a);
    let last = n & 0xff;
    (1..=254)
        .contains(&last)
        .then(|| (n >> 8) * PER_24 + (last - 1))
}

fn from_ordinal(k: u32) -> Ipv4Addr {
    Ipv4Addr::from(((k / PER_24) << 8) | (k % PER_24 + 1))
}

impl AddressBlock {
    /// `devices` addresses from `first`, all inside 127.0.0.0/8.
    pub(crate) fn new(first: Ipv4Addr, devices: usize) -> Result<AddressBlock, SimError> {
        let bad = || SimError::AddressBlock { first, devices };
        let start = ordinal(first)
            .filter(|_| first.is_loopback())
            .ok_or_else(bad)?;
        let block = AddressBlock {
            first: start,
            devices,
        };
        if devices > 0 {
            let span = u32::try_from(devices - 1).map_err(|_| bad())?;
            let last = start.checked_add(span).map(from_ordinal).ok_or_else(bad)?;
            if !last.is_loopback() {
                return Err(bad());
            }
        }
        Ok(block)
    }

    /// The address of device `i` (`i` below the fleet's size).
    pub(crate) fn addr(&self, i: usize) -> Ipv4Addr {
        from_ordinal(self.first + i as u32)
    }

    /// Which device a connection from `peer` to `local` reaches: `None`
    /// when the peer is not on this machine's loopback or the address is
    /// no device of the block.
    pub(crate) fn device_at(&self, local: SocketAddr, peer: SocketAddr) -> Option<usize> {
        if !peer.ip().is_loopback() {
            return None;
        }
        let local = match local.ip() {
            IpAddr::V4(a) => a,
            // An IPv4 connection seen through an IPv6 socket.
            IpAddr::V6(a) => a.to_ipv4_mapped()?,
        };
        let i = ordinal(local)?.checked_sub(self.first)? as usize;
        (i < self.devices).then_some(i)
    }
}

/// What a shared listener serves: SSH (or a personality's HTTPS API) or Telnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Ssh,
    Telnet,
}

/// Accepts the connections of the whole fleet until `shutdown` flips and
/// hands each to the session code of the device at the address dialled —
/// the same code a device's own listener runs; closes the others.
pub(crate) async fn serve(
    block: AddressBlock,
    devices: Arc<[Arc<Shared>]>,
    protocol: Protocol,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let (socket, peer) = match accepted {
            Ok(a) => a,
            // Out of file descriptors, most likely: let sessions end
            // rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let device = socket
            .local_addr()
            .ok()
            .and_then(|local| block.device_at(local, peer))
            .and_then(|i| devices.get(i));
        // No device there (or not from this machine): closed unanswered.
        let Some(dev) = device.cloned() else { continue };
        let stop = shutdown.clone();
        match (protocol, dev.personality.https_api()) {
            (Protocol::Telnet, _) => telnet::spawn_session(dev, socket, stop),
            (Protocol::Ssh, Some(api)) => https::spawn_connection(dev, api, socket, stop),
            (Protocol::Ssh, None) => {
                // Pager round trips would otherwise wait for delayed ACKs.
                let _ = socket.set_nodelay(true);
                server::spawn_session(dev, socket, stop);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(a: [u8; 4]) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), 22)
    }

    #[test]
    fn addresses_skip_dot_zero_and_dot_255_and_map_back_to_their_index() {
        let b = AddressBlock::new(Ipv4Addr::new(127, 1, 0, 1), 100_000).unwrap();
        assert_eq!(b.addr(0), Ipv4Addr::new(127, 1, 0, 1));
        assert_eq!(b.addr(253), Ipv4Addr::new(127, 1, 0, 254));
        assert_eq!(b.addr(254), Ipv4Addr::new(127, 1, 1, 1));
        let peer = at([127, 0, 0, 1]);
        for i in [0, 1, 253, 254, 255, 5000, 99_999] {
            let a = SocketAddr::new(IpAddr::V4(b.addr(i)), 22);
            assert_eq!(b.device_at(a, peer), Some(i));
            let last = b.addr(i).octets()[3];
            assert!((1..=254).contains(&last));
        }
        assert_eq!(b.device_at(at([127, 1, 1, 0]), peer), None);
        assert_eq!(b.device_at(at([127, 1, 0, 255]), peer), None);
        assert_eq!(b.device_at(at([127, 0, 255, 254]), peer), None, "before");
        let past = SocketAddr::new(IpAddr::V4(b.addr(100_000)), 22);
        assert_eq!(b.device_at(past, peer), None, "after the last device");
    }

    #[test]
    fn a_peer_off_loopback_reaches_no_device() {
        let b = AddressBlock::new(Ipv4Addr::new(127, 1, 0, 1), 10).unwrap();
        let device = at([127, 1, 0, 1]);
        assert_eq!(b.device_at(device, at([192, 0, 2, 7])), None);
        assert_eq!(b.device_at(at([192, 0, 2, 1]), at([127, 0, 0, 1])), None);
    }

    #[test]
    fn a_block_must_start_at_a_host_address_and_stay_in_loopback() {
        assert!(AddressBlock::new(Ipv4Addr::new(10, 1, 0, 1), 1).is_err());
        assert!(AddressBlock::new(Ipv4Addr::new(127, 1, 0, 0), 1).is_err());
        assert!(AddressBlock::new(Ipv4Addr::new(127, 255, 255, 1), 254).is_ok());
        assert!(AddressBlock::new(Ipv4Addr::new(127, 255, 255, 1), 255).is_err());
    }
}

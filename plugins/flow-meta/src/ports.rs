//! Responder-port classes (spec Appendix B): a fixed list of well-known service ports
//! with a name and class 1 or 2, and a range fallback for every other port.

/// Class number of the fallback for ports below 1024 (and of most named system services).
pub const CLASS_SYSTEM: i64 = 1;
/// Class number of the fallback for ports 1024..=49151.
pub const CLASS_REGISTERED: i64 = 2;
/// Class number of the fallback for ports 49152..=65535.
pub const CLASS_DYNAMIC: i64 = 3;

/// `(name, class number)` of a destination port. Port 0 (no transport ports: ICMP,
/// fragments, other protocols) falls in the `system` range like any port below 1024.
pub fn classify(port: u16) -> (&'static str, i64) {
    if let Some(named) = named(port) {
        return named;
    }
    match port {
        0..=1023 => ("system", CLASS_SYSTEM),
        1024..=49151 => ("registered", CLASS_REGISTERED),
        _ => ("dynamic", CLASS_DYNAMIC),
    }
}

/// The table of named services. Class 1 entries are system-range services, class 2
/// entries are common registered-range services.
fn named(port: u16) -> Option<(&'static str, i64)> {
    Some(match port {
        20 => ("ftp-data", 1),
        21 => ("ftp", 1),
        22 => ("ssh", 1),
        23 => ("telnet", 1),
        25 => ("smtp", 1),
        53 => ("dns", 1),
        67 | 68 => ("dhcp", 1),
        69 => ("tftp", 1),
        80 => ("http", 1),
        110 => ("pop3", 1),
        119 => ("nntp", 1),
        123 => ("ntp", 1),
        143 => ("imap", 1),
        161 => ("snmp", 1),
        162 => ("snmp-trap", 1),
        443 => ("https", 1),
        445 => ("smb", 1),
        465 => ("smtps", 1),
        514 => ("syslog", 1),
        587 => ("smtp-submission", 1),
        636 => ("ldaps", 1),
        853 => ("dns-over-tls", 1),
        993 => ("imaps", 1),
        995 => ("pop3s", 1),
        1080 => ("socks", 2),
        1194 => ("openvpn", 2),
        1433 => ("mssql", 2),
        1521 => ("oracle", 2),
        1723 => ("pptp", 2),
        3306 => ("mysql", 2),
        3389 => ("rdp", 2),
        5060 => ("sip", 2),
        5061 => ("sips", 2),
        5222 => ("xmpp", 2),
        5432 => ("postgresql", 2),
        5900 => ("vnc", 2),
        6379 => ("redis", 2),
        6667 => ("irc", 2),
        8080 | 8888 => ("http-alt", 2),
        8443 => ("https-alt", 2),
        9000 => ("php-fpm", 2),
        9200 => ("elasticsearch", 2),
        27017 => ("mongodb", 2),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_45_ports() {
        let n = (0..=u16::MAX).filter(|p| named(*p).is_some()).count();
        assert_eq!(n, 45);
        // Every class-1 name sits below 1024, every class-2 name at or above it.
        for p in 0..=u16::MAX {
            if let Some((_, c)) = named(p) {
                assert_eq!(c == 1, p < 1024, "port {p}");
            }
        }
    }

    #[test]
    fn table_hits() {
        assert_eq!(classify(443), ("https", 1));
        assert_eq!(classify(53), ("dns", 1));
        assert_eq!(classify(67), ("dhcp", 1));
        assert_eq!(classify(68), ("dhcp", 1));
        assert_eq!(classify(1723), ("pptp", 2));
        assert_eq!(classify(8888), ("http-alt", 2));
        assert_eq!(classify(27017), ("mongodb", 2));
    }

    #[test]
    fn range_fallbacks() {
        assert_eq!(classify(0), ("system", 1));
        assert_eq!(classify(137), ("system", 1));
        assert_eq!(classify(1023), ("system", 1));
        assert_eq!(classify(1024), ("registered", 2));
        assert_eq!(classify(49151), ("registered", 2));
        assert_eq!(classify(49152), ("dynamic", 3));
        assert_eq!(classify(65535), ("dynamic", 3));
    }
}

//! The users and groups of each distro family's base system, and the helper accounts images
//! create for tooling, as data with their sources named.

use super::Family;

/// A user or group of a distro's base system: (name, id).
pub type Account = (&'static str, u32);

/// The users every Debian and Ubuntu image has: Debian's `base-passwd` 3.6 `passwd.master`
/// (`/usr/share/base-passwd/passwd.master`, Debian 12 bookworm; Ubuntu 22.04+ ships the same
/// file), which `/etc/passwd` starts from; checked against a `debootstrap --variant=minbase
/// bookworm`. `_apt` comes from apt's maintainer script, not base-passwd: its UID is 42 on
/// Debian 12 but 100 on older releases and Ubuntu 22.04 (its UID here is Debian 12's). Ubuntu
/// 23.04+ images also have `ubuntu` (UID 1000), which is not listed: the guarded creation
/// command leaves a user it finds alone.
const DEBIAN_USERS: &[Account] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("sync", 4),
    ("games", 5),
    ("man", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("proxy", 13),
    ("www-data", 33),
    ("backup", 34),
    ("list", 38),
    ("irc", 39),
    ("_apt", 42),
    ("nobody", 65534),
];

/// Debian's `base-passwd` 3.6 `group.master` (Debian 12 bookworm, Ubuntu 22.04+; checked
/// against the same debootstrap).
const DEBIAN_GROUPS: &[Account] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("adm", 4),
    ("tty", 5),
    ("disk", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("man", 12),
    ("proxy", 13),
    ("kmem", 15),
    ("dialout", 20),
    ("fax", 21),
    ("voice", 22),
    ("cdrom", 24),
    ("floppy", 25),
    ("tape", 26),
    ("sudo", 27),
    ("audio", 29),
    ("dip", 30),
    ("www-data", 33),
    ("backup", 34),
    ("operator", 37),
    ("list", 38),
    ("irc", 39),
    ("src", 40),
    ("shadow", 42),
    ("utmp", 43),
    ("video", 44),
    ("sasl", 45),
    ("plugdev", 46),
    ("staff", 50),
    ("games", 60),
    ("users", 100),
    ("nogroup", 65534),
];

/// The users of Alpine's `alpine-baselayout` `/etc/passwd` that every release from 3.17 on
/// has (3.20's file; releases up to 3.18 had more, such as `adm`, `operator`, `postmaster`,
/// `squid`, `xfs`: those are left out, so that a name here exists in every image).
const ALPINE_USERS: &[Account] = &[
    ("root", 0),
    ("bin", 1),
    ("daemon", 2),
    ("lp", 4),
    ("sync", 5),
    ("shutdown", 6),
    ("halt", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("cron", 16),
    ("ftp", 21),
    ("sshd", 22),
    ("games", 35),
    ("ntp", 123),
    ("guest", 405),
    ("nobody", 65534),
];

/// Alpine's `alpine-baselayout` `/etc/group` (Alpine 3.20). `www-data` is a group only: the
/// user is made by the packages (and the `php` images) that need it.
const ALPINE_GROUPS: &[Account] = &[
    ("root", 0),
    ("bin", 1),
    ("daemon", 2),
    ("sys", 3),
    ("adm", 4),
    ("tty", 5),
    ("disk", 6),
    ("lp", 7),
    ("kmem", 9),
    ("wheel", 10),
    ("floppy", 11),
    ("mail", 12),
    ("news", 13),
    ("uucp", 14),
    ("cron", 16),
    ("audio", 18),
    ("cdrom", 19),
    ("dialout", 20),
    ("ftp", 21),
    ("sshd", 22),
    ("input", 23),
    ("tape", 26),
    ("video", 27),
    ("netdev", 28),
    ("kvm", 34),
    ("games", 35),
    ("shadow", 42),
    ("www-data", 82),
    ("users", 100),
    ("ntp", 123),
    ("abuild", 300),
    ("utmp", 406),
    ("ping", 999),
    ("nogroup", 65533),
    ("nobody", 65534),
];

/// The users of the Fedora/RHEL `setup` package's `/etc/passwd` (setup 2.13, RHEL 9 / UBI 9,
/// Fedora 3x; its `uidgid` file lists the reserved IDs). `nobody` is 65534 from RHEL 8 on,
/// 99 on RHEL/CentOS 7.
const RHEL_USERS: &[Account] = &[
    ("root", 0),
    ("bin", 1),
    ("daemon", 2),
    ("adm", 3),
    ("lp", 4),
    ("sync", 5),
    ("shutdown", 6),
    ("halt", 7),
    ("mail", 8),
    ("operator", 11),
    ("games", 12),
    ("ftp", 14),
    ("nobody", 65534),
];

/// The `setup` package's `/etc/group` (setup 2.13, RHEL 9 / UBI 9).
const RHEL_GROUPS: &[Account] = &[
    ("root", 0),
    ("bin", 1),
    ("daemon", 2),
    ("sys", 3),
    ("adm", 4),
    ("tty", 5),
    ("disk", 6),
    ("lp", 7),
    ("mem", 8),
    ("kmem", 9),
    ("wheel", 10),
    ("cdrom", 11),
    ("mail", 12),
    ("man", 15),
    ("dialout", 18),
    ("floppy", 19),
    ("games", 20),
    ("tape", 33),
    ("video", 39),
    ("ftp", 50),
    ("lock", 54),
    ("audio", 63),
    ("users", 100),
    ("nobody", 65534),
];

/// The users and groups a family's base system is known to have. BusyBox has none that are
/// certain: the official image's buildroot skeleton has `daemon`, `bin`, `www-data`,
/// `nobody`, ..., but any rootfs with a BusyBox binary goes by that name (Debian's
/// `busybox-static` put in an image has only `root`), so only `root` is known there.
pub fn system_accounts(family: Family) -> (&'static [Account], &'static [Account]) {
    match family {
        Family::Debian => (DEBIAN_USERS, DEBIAN_GROUPS),
        Family::Alpine => (ALPINE_USERS, ALPINE_GROUPS),
        Family::Rhel => (RHEL_USERS, RHEL_GROUPS),
        Family::Busybox => (&[("root", 0)], &[("root", 0)]),
    }
}

/// Accounts images create for tooling, never for the program the image runs: a Dockerfile
/// that creates one of them but never switches to it is not telling which user to run as.
/// `dockremap` is the account Docker's `--userns-remap=default` maps to (a subordinate-ID
/// holder with no home, made by AWS CodeBuild's and docker-in-docker images); the others are
/// the service accounts of daemons such images install (sshd's privilege separation, the
/// message bus, time sync, printing, mail).
pub const HELPER_ACCOUNTS: &[&str] = &[
    "dockremap",
    "sshd",
    "messagebus",
    "systemd-network",
    "systemd-resolve",
    "systemd-timesync",
    "ntp",
    "chrony",
    "avahi",
    "colord",
    "pulse",
    "lightdm",
    "postfix",
    "sshuser",
    "nscd",
];

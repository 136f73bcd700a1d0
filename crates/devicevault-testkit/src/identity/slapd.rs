//! A real OpenLDAP `slapd` per test: its own slapd.conf, database, TLS
//! certificate and free ports (ldap:// with StartTLS, and ldaps://).
//!
//! slapd runs in the foreground under a small shell that kills it when its
//! standard input closes, so it ends with the test process however that
//! ends (a panic, or nextest killing a test that hangs).

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::certs::{self, TestCerts};
use crate::peers::free_port;

pub const SUFFIX: &str = "dc=example,dc=org";
pub const SERVICE_DN: &str = "cn=devicevault,ou=services,dc=example,dc=org";
pub const SERVICE_PASSWORD: &str = "service-secret";
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
pub const ROOT_PASSWORD: &str = "root-secret";

/// The directory: people, groups, a service account, a disabled account.
///
/// - alice: netops and readers
/// - bob: readers
/// - carol: no group
/// - mallory: netops, administratively locked (ppolicy)
/// - pat: readers; the DN has parentheses, which a group filter must escape
/// - frank: readers, `employeeType: former` (for a filter-based check)
const DIRECTORY: &str = "\
dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

dn: ou=services,dc=example,dc=org
objectClass: organizationalUnit
ou: services

dn: ou=policies,dc=example,dc=org
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,dc=example,dc=org
objectClass: pwdPolicy
objectClass: device
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE

dn: cn=devicevault,ou=services,dc=example,dc=org
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: devicevault
userPassword: service-secret

dn: uid=alice,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
sn: Liddell
mail: alice@example.org
userPassword: alice-password

dn: uid=bob,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Bob
userPassword: bob-password

dn: uid=carol,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: Carol
userPassword: carol-password

dn: uid=mallory,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: mallory
cn: Mallory
sn: Mallory
userPassword: mallory-password
pwdAccountLockedTime: 000001010000Z

dn: cn=Pat (ops),ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: pat
cn: Pat (ops)
sn: Pat
userPassword: pat-password

dn: uid=frank,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: frank
cn: Frank
sn: Frank
employeeType: former
userPassword: frank-password

dn: cn=netops,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: netops
member: uid=alice,ou=people,dc=example,dc=org
member: uid=mallory,ou=people,dc=example,dc=org

dn: cn=readers,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: readers
member: uid=alice,ou=people,dc=example,dc=org
member: uid=bob,ou=people,dc=example,dc=org
member: cn=Pat (ops),ou=people,dc=example,dc=org
member: uid=frank,ou=people,dc=example,dc=org
";

/// A running slapd.
#[derive(Debug)]
pub struct Slapd {
    dir: tempfile::TempDir,
    shell: Child,
    /// `ldap://127.0.0.1:PORT` (plaintext, or StartTLS).
    pub ldap_url: String,
    /// `ldaps://127.0.0.1:PORT`.
    pub ldaps_url: String,
    /// The certificates; `certs.ca` signed slapd's.
    pub certs: TestCerts,
}

fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!("{name} not found: run scripts/test, or apt-get install slapd ldap-utils");
}

/// Whether the process runs (neither gone nor a zombie).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

impl Slapd {
    /// Starts a slapd with the directory above. `allow` adds slapd's
    /// `allow` features (such as `bind_anon_dn`, which makes it accept a DN
    /// with an empty password as an anonymous bind).
    pub fn start_with(allow: &[&str]) -> Slapd {
        let mut dir = tempfile::tempdir().unwrap();
        let certs = certs::generate(dir.path());
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let conf = dir.path().join("slapd.conf");
        let allow = if allow.is_empty() {
            String::new()
        } else {
            format!("allow {}\n", allow.join(" "))
        };
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
{allow}
database mdb
suffix \"{SUFFIX}\"
rootdn \"{ROOT_DN}\"
rootpw {ROOT_PASSWORD}
directory {data}
maxsize 10485760
overlay ppolicy
ppolicy_default \"cn=default,ou=policies,{SUFFIX}\"
access to attrs=userPassword
  by dn.exact=\"{SERVICE_DN}\" none
  by anonymous auth
  by * none
access to *
  by dn.exact=\"{SERVICE_DN}\" read
  by self read
  by * none
",
                dir = dir.path().display(),
                ca = certs.ca.display(),
                cert = certs.cert.display(),
                key = certs.key.display(),
                data = data.display(),
            ),
        )
        .unwrap();
        let ldif = dir.path().join("directory.ldif");
        std::fs::write(&ldif, DIRECTORY).unwrap();
        let out = Command::new(tool("slapadd"))
            .arg("-f")
            .arg(&conf)
            .arg("-l")
            .arg(&ldif)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "slapadd: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        // Free ports are picked, then bound by slapd: another process may
        // take one in between, so a failed start is tried again.
        for _ in 0..5 {
            let (plain, tls) = (free_port(), free_port());
            let ldap_url = format!("ldap://127.0.0.1:{plain}");
            let ldaps_url = format!("ldaps://127.0.0.1:{tls}");
            let pidfile = dir.path().join("slapd.pid");
            let _ = std::fs::remove_file(&pidfile);
            let log = dir.path().join("slapd.log");
            let mut shell = Command::new("sh")
                .arg("-c")
                .arg(r#""$0" -d 0 -f "$1" -h "$2 $3" >"$4" 2>&1 & pid=$!; echo $pid; read _; kill $pid; wait $pid"#)
                .arg(tool("slapd"))
                .arg(&conf)
                .arg(format!("{ldap_url}/"))
                .arg(format!("{ldaps_url}/"))
                .arg(&log)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut line = String::new();
            BufReader::new(shell.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            let pid: u32 = line.trim().parse().expect("the shell prints slapd's pid");
            let slapd = Slapd {
                dir,
                shell,
                ldap_url,
                ldaps_url,
                certs: certs.clone(),
            };
            // slapd writes its pid file once its listeners are bound; it
            // exits (a zombie until the shell reaps it) if one cannot be.
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline && running(pid) {
                if pidfile.exists() && std::net::TcpStream::connect(("127.0.0.1", plain)).is_ok() {
                    return slapd;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            eprintln!("slapd did not start (ports {plain}, {tls}), trying others: {log}");
            dir = slapd.stop();
        }
        panic!("slapd did not start");
    }

    /// The configuration of a directory at `url` (one of this slapd's)
    /// trusting the test CA, searching as the service account, with `extra`
    /// TOML lines.
    pub fn config(&self, url: &str, extra: &str) -> devicevault_identity::LdapConfig {
        toml::from_str(&format!(
            r#"
            url = "{url}"
            ca_file = "{ca}"
            bind_dn = "{SERVICE_DN}"
            bind_password = "{SERVICE_PASSWORD}"
            user_base = "ou=people,{SUFFIX}"
            group_base = "ou=groups,{SUFFIX}"
            {extra}
            "#,
            ca = self.certs.ca.display(),
        ))
        .expect("an LDAP configuration")
    }

    /// A slapd with the default configuration.
    pub fn start() -> Slapd {
        Slapd::start_with(&[])
    }

    /// Ends slapd (EOF on the shell's stdin), keeping the directory.
    fn stop(mut self) -> tempfile::TempDir {
        self.halt();
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }

    fn halt(&mut self) {
        if let Some(mut stdin) = self.shell.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.shell.wait();
    }

    /// The service account's password and the others' are known; this runs
    /// `ldapmodify` as the directory's root, to change it under a test.
    pub fn modify(&self, ldif: &str) {
        let mut child = Command::new(tool("ldapmodify"))
            .args([
                "-x",
                "-H",
                &self.ldap_url,
                "-D",
                ROOT_DN,
                "-w",
                ROOT_PASSWORD,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "ldapmodify: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.halt();
    }
}

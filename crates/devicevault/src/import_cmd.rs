//! `devicevault import` and `devicevault export`: the inventory from and
//! to Oxidized, RANCID, CSV and NetBox, against the data directory or
//! `DEVICEVAULT_DATABASE_URL` like `user create`. The work is
//! `app::import`'s, shared with the API and the web page; this file reads
//! the source, prints the report and records the run in the audit log.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use devicevault_collect::DriverSet;
use devicevault_pipeline::app::import::{
    self, Action, Format, ImportContext, ImportOptions, ImportReport, MAX_IMPORT_BYTES,
    parse::OxidizedMap,
};
use devicevault_pipeline::keyfile;

use crate::config_cmd::ConfigArgs;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// oxidized, rancid, csv or netbox.
    #[arg(long, value_parser = parse_format)]
    pub format: Format,
    /// Commit the changes; without it, print what would change.
    #[arg(long)]
    pub apply: bool,
    /// Apply nothing when a line has an error.
    #[arg(long)]
    pub strict: bool,
    /// Archive the devices the source no longer names (never deletes).
    #[arg(long)]
    pub sync: bool,
    /// A value for new devices' fields their line does not give, as a CSV
    /// cell: `--default backup_location=main --default credential=lab`.
    #[arg(long = "default", value_name = "FIELD=VALUE")]
    pub defaults: Vec<String>,
    /// Oxidized: the delimiter of router.db (source.csv's `delimiter`).
    #[arg(long, default_value = ":")]
    pub delimiter: String,
    /// Oxidized: the columns (source.csv's `map`), e.g.
    /// `name=0,model=1,ip=2,username=3,password=4`.
    #[arg(long)]
    pub map: Option<String>,
    /// NetBox: its URL (`https://netbox.example.net`); the token is
    /// `import.netbox_token` / `DEVICEVAULT_NETBOX_TOKEN`.
    #[arg(long)]
    pub netbox_url: Option<String>,
    /// NetBox: a filter of `/api/dcim/devices/`, repeatable:
    /// `--netbox-filter status=active --netbox-filter site=ams1`.
    #[arg(long = "netbox-filter", value_name = "NAME=VALUE")]
    pub netbox_filters: Vec<String>,
    /// Print the report as JSON (the API's answer).
    #[arg(long)]
    pub json: bool,
    /// The file to read, `-` for standard input.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub db: ConfigArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// csv (the only one).
    #[arg(long, default_value = "csv", value_parser = ["csv"])]
    pub format: String,
    #[command(flatten)]
    pub db: ConfigArgs,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

fn pairs(list: &[String], what: &str) -> anyhow::Result<Vec<(String, String)>> {
    list.iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => Ok((k.trim().to_owned(), v.to_owned())),
            None => bail!("{what} {p:?}: expected NAME=VALUE"),
        })
        .collect()
}

fn oxidized_map(spec: &str) -> anyhow::Result<OxidizedMap> {
    let mut map = OxidizedMap {
        name: 0,
        model: 1,
        ip: None,
        username: None,
        password: None,
    };
    for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part
            .split_once('=')
            .with_context(|| format!("--map {part:?}: expected column=index"))?;
        let i: usize = v
            .trim()
            .parse()
            .with_context(|| format!("--map {part:?}: the index is a number from 0"))?;
        match k.trim() {
            "name" => map.name = i,
            "model" => map.model = i,
            "ip" => map.ip = Some(i),
            "username" => map.username = Some(i),
            "password" => map.password = Some(i),
            other => bail!("--map: unknown column {other:?} (name, model, ip, username, password)"),
        }
    }
    Ok(map)
}

/// Reads at most [`MAX_IMPORT_BYTES`]; more is an error, not a truncation.
fn read_bounded(file: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let limit = MAX_IMPORT_BYTES as u64 + 1;
    if file.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut buf)
            .context("read standard input")?;
    } else {
        std::fs::File::open(file)
            .with_context(|| format!("open {}", file.display()))?
            .take(limit)
            .read_to_end(&mut buf)
            .with_context(|| format!("read {}", file.display()))?;
    }
    if buf.len() > MAX_IMPORT_BYTES {
        bail!("the input is larger than the import limit of {MAX_IMPORT_BYTES} bytes; split it");
    }
    Ok(buf)
}

/// Runs `import`; `Ok(false)` when a line has an error (exit status 1).
pub fn import(args: ImportArgs) -> anyhow::Result<bool> {
    let config = args.db.load(&[])?;
    let drivers = match &config.drivers_dir {
        Some(dir) => DriverSet::with_user_dir(dir)
            .with_context(|| format!("load user drivers from {}", dir.display()))?,
        None => DriverSet::builtin(),
    };
    let mut options = ImportOptions {
        apply: args.apply,
        strict: args.strict,
        sync: args.sync,
        ..ImportOptions::default()
    };
    options.defaults = pairs(&args.defaults, "--default")?.into_iter().collect();
    options.oxidized.delimiter = args.delimiter.clone();
    if let Some(m) = &args.map {
        options.oxidized.map = oxidized_map(m)?;
    }
    let input = match (args.format, &args.input, &args.netbox_url) {
        (Format::Netbox, _, None) => bail!("--format netbox needs --netbox-url"),
        (Format::Netbox, Some(_), _) => bail!("--format netbox reads NetBox, not a file"),
        (Format::Netbox, None, Some(_)) => None,
        (_, Some(file), _) => Some(read_bounded(file)?),
        (_, None, _) => bail!("name the file to import, or - for standard input"),
    };
    crate::server_cmd::runtime()?.block_on(async {
        let db = crate::server_cmd::connect(&args.db).await?;
        let parsed = match input {
            Some(bytes) => import::parse_source(args.format, &bytes, &options)?,
            None => {
                let url = args.netbox_url.as_deref().unwrap_or_default();
                let token = config.settings.netbox_token.as_ref().map(|t| t.expose());
                let filters = pairs(&args.netbox_filters, "--netbox-filter")?;
                crate::netbox::fetch(url, token, &filters).await?
            }
        };
        // The key opens existing credentials to match an Oxidized login;
        // it is created only where no sealed secret could need an older
        // one (as `serve` does).
        let may_create = db
            .list_credentials(devicevault_db::Page {
                limit: 1,
                offset: 0,
            })
            .await?
            .total
            == 0;
        // Without a key (none yet, and credentials that need an older
        // one), lines with a login are errors; a key that is there but
        // unusable stops the run.
        let key = match keyfile::load_or_create(&config.secret_key_path(), may_create) {
            Ok(k) => Some(k),
            Err(keyfile::KeyFileError::Missing { .. }) => None,
            Err(e) => return Err(e).context("read the sealing key"),
        };
        let ctx = ImportContext {
            db: &db,
            drivers: &drivers,
            key: key.as_ref(),
            mapping: &config.settings.import_mapping,
            by: None,
        };
        let report = import::run(ctx, args.format, parsed, &options).await?;
        if report.applied {
            crate::audit_cmd::record(
                &db,
                "device.import",
                "device",
                None,
                serde_json::json!({
                    "format": args.format.as_str(),
                    "create": report.counts.create,
                    "update": report.counts.update,
                    "archive": report.counts.archive,
                    "new_credentials": report.new_credentials,
                }),
            )
            .await;
        }
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_report(&report, args.apply);
        }
        Ok(report.counts.error == 0)
    })
}

fn print_report(r: &ImportReport, apply: bool) {
    for l in &r.lines {
        let at = l
            .line
            .map_or_else(|| "-".to_owned(), |n| format!("line {n}"));
        let name = l.name.as_deref().unwrap_or("?");
        match l.action {
            Action::Update => {
                let changes = changes_of(l);
                println!("{at}: update {name}: {}", changes.join(", "));
            }
            Action::Error | Action::Skipped | Action::Archive => println!(
                "{at}: {} {name}: {}",
                l.action.as_str(),
                l.reason.as_deref().unwrap_or("")
            ),
            a => println!("{at}: {} {name}", a.as_str()),
        }
    }
    if r.lines_left_out > 0 {
        println!("… and {} more lines (counted below)", r.lines_left_out);
    }
    for c in &r.new_credentials {
        println!("new credential: {c}");
    }
    for n in &r.notes {
        println!("note: {n}");
    }
    let c = &r.counts;
    println!(
        "{}: {} create, {} update, {} unchanged, {} skipped, {} error, {} archive",
        if r.applied {
            "applied"
        } else if apply {
            "not applied"
        } else {
            "dry run (--apply to commit)"
        },
        c.create,
        c.update,
        c.unchanged,
        c.skipped,
        c.error,
        c.archive
    );
}

fn changes_of(l: &import::ReportLine) -> Vec<String> {
    l.changes
        .iter()
        .map(|c| format!("{} {:?} → {:?}", c.field, c.from, c.to))
        .collect()
}

/// Runs `export`: the inventory as CSV on standard output.
pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    crate::server_cmd::runtime()?.block_on(async {
        let db = crate::server_cmd::connect(&args.db).await?;
        let csv = import::export_csv(&db, &devicevault_db::Scope::Admin).await?;
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        out.write_all(csv.as_bytes()).context("write the CSV")?;
        out.flush().context("write the CSV")?;
        Ok(())
    })
}

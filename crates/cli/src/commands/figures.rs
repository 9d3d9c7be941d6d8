//! `doorstroom figures`: a regional coordinator reads the region's
//! figures (aggregates with small cells suppressed), as JSON or CSV.

use std::path::Path;

use anyhow::bail;
use clap::Args;
use doorstroom_domain::SchoolYear;
use doorstroom_domain::regional::RegionName;
use reqwest::Method;

use super::common::{Who, print_json, runtime};
use crate::exchange;

#[derive(Args)]
pub struct FiguresArgs {
    #[command(flatten)]
    pub who: Who,
    /// The region, as configured (e.g. twente).
    #[arg(long, value_parser = parse_region)]
    pub region: RegionName,
    /// The mbo school year, e.g. 2027-2028.
    #[arg(long)]
    pub school_year: SchoolYear,
    /// CSV (`measure,dimension,category,value`) instead of JSON.
    #[arg(long)]
    pub csv: bool,
}

/// A region's name as the broker's configuration spells it; checked here
/// so that it goes into the URL's path as it is.
fn parse_region(raw: &str) -> Result<RegionName, String> {
    RegionName::parse(raw).map_err(|e| e.to_string())
}

pub fn run(url: &str, ca: &Path, args: FiguresArgs) -> anyhow::Result<()> {
    let client = exchange::connect(url, ca, &args.who.identity())?;
    let format = if args.csv { "csv" } else { "json" };
    let path = format!(
        "/v1/regions/{}/figures?school_year={}&format={format}",
        args.region, args.school_year
    );
    let reply = runtime()?.block_on(client.fetch(Method::GET, &path, None))?;
    if !reply.status.is_success() {
        let detail = reply.body["detail"].as_str().unwrap_or("no detail");
        bail!("the broker answered {}: {detail}", reply.status);
    }
    if args.csv {
        print!("{}", String::from_utf8_lossy(&reply.raw));
        return Ok(());
    }
    print_json(&reply.body)
}

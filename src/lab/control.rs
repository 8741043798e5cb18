//! The supervisor's control channel: one request line over loopback TCP, one answer line.
//! `TOKEN fault NAME` -> `ok DETAIL` or `error WHY`. The token lives in DIR/lab.json (mode 600).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::error::LabError;
use super::info::LabInfo;

/// Sends one command to a running lab's supervisor and returns its answer.
pub fn request(info: &LabInfo, command: &str, timeout: Duration) -> Result<String, LabError> {
    let unreachable = |e: std::io::Error| LabError::NoLab {
        dir: info.dir.clone(),
        why: format!("its supervisor does not answer on {} ({e})", info.control_addr),
    };
    let mut stream = TcpStream::connect(&info.control_addr).map_err(unreachable)?;
    stream.set_read_timeout(Some(timeout)).map_err(unreachable)?;
    writeln!(stream, "{} {command}", info.control_token).map_err(unreachable)?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).map_err(unreachable)?;
    let line = line.trim_end();
    match line.split_once(' ') {
        Some(("ok", detail)) => Ok(detail.to_string()),
        _ if line == "ok" => Ok(String::new()),
        Some(("error", why)) => Err(LabError::FaultFailed { name: command.to_string(), why: why.to_string() }),
        _ => Err(LabError::Other(format!("unexpected answer from the lab supervisor: {line:?}"))),
    }
}

/// Splits "TOKEN verb arg" into (verb, arg) when the token matches.
pub fn parse<'a>(line: &'a str, token: &str) -> Option<(&'a str, &'a str)> {
    let mut parts = line.trim().splitn(3, ' ');
    (parts.next()? == token).then_some(())?;
    Some((parts.next()?, parts.next().unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_without_the_token_is_refused() {
        assert_eq!(parse("abc fault queue-flood", "abc"), Some(("fault", "queue-flood")));
        assert_eq!(parse("abc heal", "abc"), Some(("heal", "")));
        assert_eq!(parse("wrong fault queue-flood", "abc"), None);
    }
}

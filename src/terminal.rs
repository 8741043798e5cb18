//! The terminal the UI owns: enter/leave raw mode and the alternate screen, a panic hook that
//! always restores it, and turning an off-screen buffer into text for headless frames.

use ratatui::DefaultTerminal;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

/// Takes over the terminal; the panic hook installed by ratatui restores it on panic.
pub fn enter() -> anyhow::Result<DefaultTerminal> {
    ratatui::try_init().map_err(|e| anyhow::anyhow!("cannot set up the terminal ({e}); is this an interactive terminal? try --snapshot"))
}

/// Gives the terminal back (raw mode off, main screen, cursor shown). Errors are ignored: after an
/// SSH drop there may be no terminal left to restore.
pub fn leave() {
    ratatui::restore();
}

/// A buffer as lines of text, trailing blanks trimmed; with `ansi`, colours as SGR sequences.
pub fn buffer_text(buf: &Buffer, ansi: bool) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut last_style = None;
        for x in 0..buf.area.width {
            let Some(cell) = buf.cell((x, y)) else { continue };
            if ansi {
                let style = (cell.fg, cell.bg, cell.modifier);
                if last_style != Some(style) {
                    line.push_str(&sgr(cell.fg, cell.bg, cell.modifier));
                    last_style = Some(style);
                }
            }
            line.push_str(cell.symbol());
        }
        if ansi {
            line.push_str("\u{1b}[0m");
        } else {
            line.truncate(line.trim_end().len());
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn sgr(fg: Color, bg: Color, m: Modifier) -> String {
    let mut codes = vec!["0".to_string()];
    if m.contains(Modifier::BOLD) {
        codes.push("1".into());
    }
    if m.contains(Modifier::DIM) {
        codes.push("2".into());
    }
    if m.contains(Modifier::REVERSED) {
        codes.push("7".into());
    }
    if let Some(c) = color_code(fg, false) {
        codes.push(c);
    }
    if let Some(c) = color_code(bg, true) {
        codes.push(c);
    }
    format!("\u{1b}[{}m", codes.join(";"))
}

fn color_code(c: Color, bg: bool) -> Option<String> {
    let base = if bg { 40 } else { 30 };
    let n = match c {
        Color::Reset => return None,
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 60,
        Color::LightRed => 61,
        Color::LightGreen => 62,
        Color::LightYellow => 63,
        Color::LightBlue => 64,
        Color::LightMagenta => 65,
        Color::LightCyan => 66,
        Color::White => 67,
        Color::Indexed(i) => return Some(format!("{};5;{i}", base + 8)),
        Color::Rgb(r, g, b) => return Some(format!("{};2;{r};{g};{b}", base + 8)),
    };
    Some((base + n).to_string())
}

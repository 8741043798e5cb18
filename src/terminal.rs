//! The terminal the UI owns: enter/leave raw mode and the alternate screen, a panic hook that
//! always restores it, and turning an off-screen buffer into text for headless frames.

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};

/// The terminal the console draws on.
pub type ConsoleTerminal = ratatui::Terminal<Quiet<CrosstermBackend<std::io::Stdout>>>;

/// Takes over the terminal; the panic hook installed by ratatui restores it on panic.
pub fn enter() -> anyhow::Result<ConsoleTerminal> {
    let fail = |e: std::io::Error| anyhow::anyhow!("cannot set up the terminal ({e}); is this an interactive terminal? try --snapshot");
    // ratatui's init sets up raw mode, the alternate screen and the restoring panic hook; the
    // console then draws through a backend that does not repeat itself.
    drop(ratatui::try_init().map_err(fail)?);
    ratatui::Terminal::new(Quiet::new(CrosstermBackend::new(std::io::stdout()))).map_err(fail)
}

/// A backend that says nothing when nothing changed. ratatui hides the cursor after every frame,
/// and crossterm's backend ends every draw, even of no cells, with four style resets; an idle
/// console draws a frame each second (an age) and one per collector answer, so an unchanged screen
/// cost ~25 bytes a frame over a slow SSH link. This sends the cells that changed, and "hide the
/// cursor" only when it is shown.
pub struct Quiet<B> {
    inner: B,
    hidden: bool,
}

impl<B> Quiet<B> {
    pub fn new(inner: B) -> Self {
        Quiet { inner, hidden: false }
    }
}

impl<B: Backend> Backend for Quiet<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_none() {
            return Ok(());
        }
        self.inner.draw(content)
    }

    fn append_lines(&mut self, n: u16) -> Result<(), Self::Error> {
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        if self.hidden {
            return Ok(());
        }
        self.inner.hide_cursor()?;
        self.hidden = true;
        Ok(())
    }

    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.hidden = false;
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }

    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// What the backend wrote, readable while the backend holds the writer.
    #[derive(Clone, Default)]
    struct Sent(Rc<RefCell<Vec<u8>>>);

    impl std::io::Write for Sent {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_unchanged_frame_sends_nothing_and_the_cursor_is_hidden_once() {
        let sent = Sent::default();
        let len = || sent.0.borrow().len();
        let mut quiet = Quiet::new(CrosstermBackend::new(sent.clone()));
        quiet.hide_cursor().expect("hide");
        quiet.flush().expect("flush");
        let after_hide = len();
        assert!(after_hide > 0, "the first hide is sent");
        quiet.draw(std::iter::empty()).expect("draw nothing");
        quiet.hide_cursor().expect("hide again");
        quiet.flush().expect("flush");
        assert_eq!(len(), after_hide, "nothing more for an unchanged frame");
        let cell = Cell::new("x");
        quiet.draw(std::iter::once((3, 1, &cell))).expect("draw a cell");
        quiet.flush().expect("flush");
        assert!(String::from_utf8_lossy(&sent.0.borrow()[after_hide..]).contains('x'), "a changed cell is sent");
        quiet.show_cursor().expect("show");
        quiet.hide_cursor().expect("hide after show");
        quiet.flush().expect("flush");
        assert!(String::from_utf8_lossy(&sent.0.borrow()).ends_with("\u{1b}[?25l"), "hidden again after being shown");
    }
}

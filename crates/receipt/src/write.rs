//! Writing the bytes to a printer device or a file.

use std::fs::OpenOptions;
use std::io::{self, ErrorKind, Write};
use std::path::Path;

use crate::error::{ErrorCode, ReceiptError};

/// Writes `bytes` to `path`: a printer device (`/dev/usb/lp0`, a serial port, a pipe…) or a
/// file.
///
/// - A device (an existing path that is not a regular file, or any path under `/dev/`) is
///   opened for writing only: never created, never truncated. An unplugged printer whose node
///   is gone is `printer_not_found`, never a stray regular file in `/dev`.
/// - Any other path is a file, created or overwritten.
///
/// Errors:
/// - `printer_not_found`: the path or its directory does not exist, or the device node has no
///   device behind it (unplugged printer: `ENXIO`/`ENODEV`);
/// - `printer_not_writable`: permission denied, read-only file system, a directory, or a file
///   that refuses writing;
/// - `printer_write_failed`: opened, but the write itself failed.
pub fn write_to(path: &Path, bytes: &[u8]) -> Result<(), ReceiptError> {
    let shown = path.display();
    let meta = std::fs::metadata(path);
    if let Ok(m) = &meta {
        if m.is_dir() {
            return Err(ReceiptError::new(ErrorCode::PrinterNotWritable, format!("{shown} is a directory")));
        }
    }
    let is_device = matches!(&meta, Ok(m) if !m.is_file()) || path.starts_with("/dev");
    let mut opts = OpenOptions::new();
    opts.write(true);
    if !is_device {
        opts.create(true).truncate(true);
    }
    let mut file = opts.open(path).map_err(|e| open_error(path, e))?;
    file.write_all(bytes)
        .and_then(|_| file.flush())
        .map_err(|e| ReceiptError::new(ErrorCode::PrinterWriteFailed, format!("writing to {shown} failed: {e}")))
}

/// ENXIO and ENODEV: a device node with no device behind it (same numbers on Linux and macOS).
const NO_DEVICE: [i32; 2] = [6, 19];

fn open_error(path: &Path, e: io::Error) -> ReceiptError {
    let shown = path.display();
    let code = match e.kind() {
        ErrorKind::NotFound | ErrorKind::NotADirectory => ErrorCode::PrinterNotFound,
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem | ErrorKind::IsADirectory => {
            ErrorCode::PrinterNotWritable
        }
        _ if e.raw_os_error().is_some_and(|n| NO_DEVICE.contains(&n)) => ErrorCode::PrinterNotFound,
        // Anything else refusing the open (EINVAL on a procfs file…) leaves it unwritable.
        _ => ErrorCode::PrinterNotWritable,
    };
    let what = match code {
        ErrorCode::PrinterNotFound => "no printer at",
        _ => "cannot write to",
    };
    ReceiptError::new(code, format!("{what} {shown}: {e}"))
}

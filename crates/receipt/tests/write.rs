//! `write_to`: files, devices and the errors with their codes.

use std::path::Path;

use tillbook_receipt::{write_to, ErrorCode};

/// Whether this process bypasses file permission bits (root, or CAP_DAC_OVERRIDE).
fn overrides_permissions() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let caps = status.lines().find_map(|l| l.strip_prefix("CapEff:")).expect("CapEff in /proc/self/status");
    let caps = u64::from_str_radix(caps.trim(), 16).unwrap();
    caps & (1 << 1) != 0 // CAP_DAC_OVERRIDE
}

#[test]
fn a_file_is_created_then_overwritten_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("receipt.bin");
    write_to(&path, b"a long first receipt").unwrap();
    write_to(&path, b"short").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"short");
}

#[test]
fn a_missing_directory_is_printer_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("receipt.bin");
    let e = write_to(&path, b"x").unwrap_err();
    assert_eq!(e.code, ErrorCode::PrinterNotFound, "{e}");
    assert_eq!(e.code_str(), "printer_not_found");
    assert!(e.message.contains("no-such-dir"), "{e}");
    assert!(!path.parent().unwrap().exists());
}

#[test]
fn a_path_through_a_file_is_printer_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, b"").unwrap();
    let e = write_to(&file.join("receipt.bin"), b"x").unwrap_err();
    assert_eq!(e.code, ErrorCode::PrinterNotFound, "{e}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_missing_device_is_printer_not_found_and_never_created() {
    let path = Path::new("/dev/tillbook-no-such-printer");
    let e = write_to(path, b"x").unwrap_err();
    assert_eq!(e.code, ErrorCode::PrinterNotFound, "{e}");
    assert!(!path.exists(), "a regular file was created in /dev");
    let e = write_to(Path::new("/dev/usb/tillbook-lp9"), b"x").unwrap_err();
    assert_eq!(e.code, ErrorCode::PrinterNotFound, "{e}");
}

#[test]
fn a_directory_is_printer_not_writable() {
    let dir = tempfile::tempdir().unwrap();
    let e = write_to(dir.path(), b"x").unwrap_err();
    assert_eq!(e.code, ErrorCode::PrinterNotWritable, "{e}");
    assert_eq!(e.code_str(), "printer_not_writable");
}

/// sysfs lets nobody, root included, create a file: EACCES, or EROFS where it is mounted
/// read-only. Both are `printer_not_writable`.
#[cfg(target_os = "linux")]
#[test]
fn a_path_even_root_cannot_create_is_printer_not_writable() {
    assert!(Path::new("/sys/kernel").is_dir(), "this test needs sysfs mounted on /sys");
    let path = Path::new("/sys/kernel/tillbook-receipt.bin");
    let e = write_to(path, b"x").unwrap_err();
    assert_eq!(e.code, ErrorCode::PrinterNotWritable, "{e}");
    assert!(!path.exists());
}

/// A read-only file: refused unless this process overrides permission bits (root), in which
/// case the write really happens; either way the outcome is checked.
#[cfg(unix)]
#[test]
fn a_read_only_file_is_printer_not_writable_unless_permissions_are_overridden() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.bin");
    std::fs::write(&path, b"old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let result = write_to(&path, b"new");
    if overrides_permissions() {
        result.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    } else {
        let e = result.unwrap_err();
        assert_eq!(e.code, ErrorCode::PrinterNotWritable, "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old", "nothing half-written");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_device_is_written_without_being_replaced() {
    write_to(Path::new("/dev/null"), b"\x1b@receipt").unwrap();
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(!meta.is_file(), "/dev/null must still be a device");
}

#[cfg(target_os = "linux")]
#[test]
fn a_device_that_fails_the_write_is_printer_write_failed() {
    // /dev/full opens fine and answers every write with ENOSPC.
    let e = write_to(Path::new("/dev/full"), b"\x1b@receipt").unwrap_err();
    assert_eq!(e.code, ErrorCode::PrinterWriteFailed, "{e}");
    assert_eq!(e.code_str(), "printer_write_failed");
}

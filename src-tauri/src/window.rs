//! The till's window on the screen it has: the configured 1280×800 where it fits, else the
//! whole screen (a 1024×768 till screen shows every part of the app, the sync badge included).

use tauri::{LogicalPosition, LogicalSize, Manager, Runtime};

/// The size a window of `want` logical pixels gets on a screen of `screen` logical pixels.
pub fn fit(want: (f64, f64), screen: (f64, f64)) -> (f64, f64) {
    (want.0.min(screen.0), want.1.min(screen.1))
}

/// Shrinks the main window to its monitor when the monitor is smaller than the window.
pub fn fit_main_window<R: Runtime>(app: &tauri::AppHandle<R>) {
    let Some(w) = app.get_webview_window("main") else { return };
    let monitor = match w.current_monitor() {
        Ok(Some(m)) => Some(m),
        _ => w.primary_monitor().ok().flatten(),
    };
    // The configured size (the window is not on screen yet: its own size reads 0×0 here).
    let configured = app.config().app.windows.iter().find(|c| c.label == "main").map(|c| (c.width, c.height));
    let (Some(monitor), Some(want)) = (monitor, configured) else {
        tracing::warn!("no monitor or window size known: the window keeps its configured size");
        return;
    };
    let scale = monitor.scale_factor();
    let screen = monitor.size().to_logical::<f64>(scale);
    let (width, height) = fit(want, (screen.width, screen.height));
    if (width, height) != want {
        tracing::info!(width, height, "the screen is smaller than the window: fitting it");
        let _ = w.set_size(LogicalSize::new(width, height));
        let _ = w.set_position(LogicalPosition::new(0.0, 0.0));
    }
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn a_window_larger_than_the_screen_takes_the_screen() {
        assert_eq!(fit((1280.0, 800.0), (1024.0, 768.0)), (1024.0, 768.0));
        assert_eq!(fit((1280.0, 800.0), (1920.0, 1080.0)), (1280.0, 800.0));
        assert_eq!(fit((1280.0, 800.0), (1366.0, 768.0)), (1280.0, 768.0));
    }
}

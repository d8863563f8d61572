//! Server-side SVG charts (placeholder until the dashboard lands).

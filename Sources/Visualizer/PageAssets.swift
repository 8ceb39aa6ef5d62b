/// The page's files, embedded in the binary: no CDN, no build step, works
/// offline. Plain HTML, CSS and JavaScript (`PageAssets+Style.swift`,
/// `PageAssets+Script.swift`); the feed is server-sent events.
enum PageAssets {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="color-scheme" content="light">
    <title>swarm visualizer</title>
    <link rel="stylesheet" href="app.css">
    <script src="app.js" defer></script>
    </head>
    <body>
    <a class="skip" href="#board">Skip to the nodes</a>
    <header class="top">
      <h1>swarm visualizer</h1>
      <p id="totals">Loading…</p>
      <form id="filters" class="filters" aria-label="Filters">
        <label>Stack <select id="stack" name="stack"><option value="">All stacks</option></select></label>
        <label>Service <select id="service" name="service"><option value="">All services</option></select></label>
      </form>
      <p id="status" role="status" class="status">Connecting…</p>
    </header>
    <main id="board" class="board" aria-label="Nodes and their tasks" tabindex="-1"></main>
    <noscript><p>The visualizer needs JavaScript for its live feed.</p></noscript>
    </body>
    </html>

    """#
}

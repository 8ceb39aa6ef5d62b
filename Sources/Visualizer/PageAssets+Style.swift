extension PageAssets {
    /// Dark text on light tints (contrast above 7:1), state never shown by
    /// colour alone, visible focus; one column per node side by side on a
    /// wide screen, stacked on a phone.
    static let css = #"""
    *{box-sizing:border-box}
    body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#f6f8fa}
    .skip{position:absolute;left:-999px}
    .skip:focus{left:.5rem;top:.5rem;background:#fff;padding:.5rem;z-index:2}
    :focus-visible{outline:3px solid #0550ae;outline-offset:2px}
    .top{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;padding:.75rem 1rem;background:#24292f;color:#fff}
    .top h1{font-size:1.15rem;margin:0}
    .top p{margin:0}
    .filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem}
    .filters select{font:inherit;padding:.2rem .3rem;max-width:12rem}
    .status{margin-left:auto;font-size:.9rem}
    .status.live::before{content:"● ";color:#4ac26b}
    .status.lost::before{content:"● ";color:#ff8182}
    .board{display:grid;grid-auto-flow:column;grid-auto-columns:minmax(16rem,1fr);gap:.75rem;padding:.75rem;overflow-x:auto;align-items:start}
    .node{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:.6rem;min-width:0}
    .node.pending{border:2px dashed #9a6700;background:#fff8c5}
    .node h2{font-size:1.05rem;margin:0 0 .3rem;display:flex;align-items:center;gap:.4rem;overflow-wrap:anywhere}
    .dot{width:.8rem;height:.8rem;border-radius:50%;flex:none;background:#6e7781}
    .dot[data-state=ready]{background:#1a7f37}
    .dot[data-state=down]{background:#cf222e}
    .dot[data-state=disconnected]{background:#bc4c00}
    .leader{color:#9a6700}
    .facts{display:grid;grid-template-columns:auto 1fr;gap:0 .6rem;margin:0 0 .4rem;font-size:.85rem}
    .facts dt{color:#57606a}
    .facts dd{margin:0}
    .node.down{background:#ffebe9}
    .labels{list-style:none;margin:0 0 .4rem;padding:0;display:flex;flex-wrap:wrap;gap:.25rem;font-size:.8rem}
    .labels li{background:#eaeef2;border-radius:4px;padding:0 .3rem;overflow-wrap:anywhere}
    .tasks{list-style:none;margin:0;padding:0;display:grid;gap:.4rem}
    .tasks:empty::after{content:"No tasks";color:#57606a;font-size:.85rem}
    .task{border-left:6px solid hsl(var(--hue) 65% 35%);background:hsl(var(--hue) 70% 94%);border-radius:4px;padding:.3rem .5rem;font-size:.85rem}
    .task .name{font-weight:600;display:block;overflow-wrap:anywhere}
    .task .image{display:block;color:#424a53;overflow-wrap:anywhere}
    .task .state{font-weight:600}
    .task[data-state=failed] .state,.task[data-state=rejected] .state{color:#a40e26}
    .task .reason{margin:.2rem 0 0;color:#6c3a00;overflow-wrap:anywhere}
    @media (max-width:40rem){
      .board{grid-auto-flow:row;grid-auto-columns:auto}
      .status{margin-left:0}
    }

    """#
}

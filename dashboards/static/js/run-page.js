/* /runs/{id}: fetch the run's JSON and render it with GaitRun. */
(function () {
  "use strict";
  const G = window.Gait;
  G.nav("runs");
  const app = document.getElementById("app");
  const id = Number(location.pathname.split("/").pop());
  const t0 = performance.now();
  G.getJSON(`/api/runs/${id}`)
    .then((data) => {
      const t1 = performance.now();
      window.GaitRun.render(app, data, { exports: true });
      const t2 = performance.now();
      // timings for the review-open bench (dashboards.run_demo.bench_review_open)
      document.body.dataset.scriptMs = t0.toFixed(1); // scripts ran, since navigation start
      document.body.dataset.fetchMs = (t1 - t0).toFixed(1);
      document.body.dataset.renderMs = (t2 - t1).toFixed(1);
      // paintedMs: since navigation start
      requestAnimationFrame(() => { document.body.dataset.paintedMs = performance.now().toFixed(1); document.body.dataset.ready = "1"; });
    })
    .catch((e) => { app.replaceChildren(G.el("p", { class: "bad", text: `Could not load run ${id}: ${e.message}` })); document.body.dataset.ready = "error"; });
})();

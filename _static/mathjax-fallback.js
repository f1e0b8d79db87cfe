// The book serves MathJax from its own build (_static/mathjax). Only if that copy could not run,
// load the same version from a CDN. Async scripts finish before the window's load event, so by then
// MathJax has set its version if it loaded at all.
window.addEventListener("load", function () {
  var local = document.querySelector("script[src*='mathjax/tex-chtml']");
  if (!local || (window.MathJax && window.MathJax.version)) {
    return;
  }
  var cdn = document.createElement("script");
  cdn.src = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-chtml.js";
  cdn.async = true;
  cdn.id = "mathjax-cdn-fallback";
  document.head.appendChild(cdn);
});

// Small fixes for the course book on phones and tablets (loaded by book/_ext/pdl_book.py).
"use strict";

// pydata-sphinx-theme 0.17 renders two .primary-toggle (and .secondary-toggle) buttons but binds its
// sidebar dialog (and sphinx-book-theme its wide-screen collapse) to the first only, which the book
// theme hides: the visible buttons did nothing (pydata-sphinx-theme#2451, sphinx-book-theme#988).
// Forward a click on any other copy to the bound one. A no-op once upstream renders a single button.
function pdlForwardSidebarToggles() {
  for (const selector of [".primary-toggle", ".secondary-toggle"]) {
    const [bound, ...copies] = document.querySelectorAll(selector);
    for (const copy of copies) {
      copy.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopImmediatePropagation();
        bound.click();
      }, true);
    }
  }
}

// Wide display equations and tables scroll inside their box; mark the ones that do, so that CSS can
// show it (a shadow on the side with more to see) instead of cutting them off without a hint.
const PDL_SCROLLERS = "article mjx-container[display='true'], article .pst-scrollable-table-container";

function pdlMarkScrollers() {
  for (const box of document.querySelectorAll(PDL_SCROLLERS)) {
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    box.classList.toggle("pdl-scrolls", scrolls);
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");  // reachable and scrollable by keyboard too
    }
  }
}

document.addEventListener("DOMContentLoaded", pdlForwardSidebarToggles);
window.addEventListener("load", () => {
  const typeset = window.MathJax && MathJax.startup && MathJax.startup.promise;
  (typeset || Promise.resolve()).then(pdlMarkScrollers);
});
let pdlResizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(pdlResizeTimer);
  pdlResizeTimer = setTimeout(pdlMarkScrollers, 150);
});

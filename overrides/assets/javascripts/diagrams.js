/*
 * Legible diagrams. Mermaid scales a diagram down to the width of the page, so a wide one
 * ends up with 5-pixel text on a phone. Here a diagram shrinks only down to the scale where
 * its smallest text is still 12 px; past that it keeps its size and scrolls sideways in its
 * box (diagrams.css), which then takes the keyboard focus so that it can be scrolled
 * without a mouse; so does a table too wide for a phone. Loaded after mermaid.min.js and
 * before Material draws the diagrams.
 * tests/site/test_diagrams.py measures the text of every diagram in Chromium.
 */
(function () {
  "use strict"
  var MIN_TEXT_PX = 12

  if (typeof mermaid === "undefined" || typeof mermaid.render !== "function") return

  // The diagram's base font size: Mermaid's first rule, `#<id>{font-family:…;font-size:16px;…}`;
  // every label of the diagrams Material draws uses it (the site check measures them all).
  function baseFont(svg) {
    var rule = /#[\w-]+\s*\{[^}]*?font-size:\s*([\d.]+)px/.exec(svg)
    return rule ? parseFloat(rule[1]) : 16
  }

  function legible(svg) {
    var open = /<svg\b[^>]*>/.exec(svg)
    if (!open) return svg
    var box = /viewBox="[-\d.e]+[ ,]+[-\d.e]+[ ,]+([\d.e]+)[ ,]+[\d.e]+"/.exec(open[0])
    if (!box) return svg
    var scale = Math.min(1, MIN_TEXT_PX / baseFont(svg))
    var minWidth = Math.ceil(parseFloat(box[1]) * scale)
    var tag = /\bstyle="/.test(open[0])
      ? open[0].replace(/\bstyle="/, 'style="min-width: ' + minWidth + "px; ")
      : open[0].replace(/^<svg\b/, '<svg style="min-width: ' + minWidth + 'px"')
    return svg.slice(0, open.index) + tag + svg.slice(open.index + open[0].length)
  }

  // Tighter layouts than Mermaid's defaults, so that more of a diagram fits a phone:
  // narrower gaps between the participants of a sequence and between flowchart nodes.
  // Material passes its own settings (theme, font sizes) to initialize; these are added.
  var LAYOUT = {
    sequence: { actorMargin: 20, width: 110, boxMargin: 6, noteMargin: 6 },
    flowchart: { nodeSpacing: 30, rankSpacing: 35, padding: 8 }
  }
  var initialize = mermaid.initialize
  mermaid.initialize = function (config) {
    var merged = Object.assign({}, config)
    Object.keys(LAYOUT).forEach(function (key) {
      merged[key] = Object.assign({}, LAYOUT[key], (config || {})[key])
    })
    return initialize.call(this, merged)
  }

  var render = mermaid.render
  mermaid.render = function () {
    return Promise.resolve(render.apply(this, arguments)).then(function (result) {
      if (result && typeof result.svg === "string") result.svg = legible(result.svg)
      return result
    })
  }

  // A diagram wider than its box scrolls, and so does a table on a phone (Material wraps
  // tables in .md-typeset__scrollwrap): let the keyboard reach and scroll them too.
  function focusable(host) {
    if (host.scrollWidth > host.clientWidth + 1) {
      host.setAttribute("tabindex", "0")
    } else {
      host.removeAttribute("tabindex")
    }
  }
  var resize = typeof ResizeObserver === "function"
    ? new ResizeObserver(function (entries) {
        entries.forEach(function (entry) { focusable(entry.target) })
      })
    : null
  var SCROLLING = "div.mermaid, .md-typeset__scrollwrap"
  function watch(host) {
    focusable(host)
    if (resize) resize.observe(host)
  }
  new MutationObserver(function (records) {
    records.forEach(function (record) {
      record.addedNodes.forEach(function (node) {
        if (node.nodeType !== 1) return
        if (node.matches(SCROLLING)) watch(node)
        Array.prototype.forEach.call(node.querySelectorAll(SCROLLING), watch)
      })
    })
  }).observe(document.documentElement, { childList: true, subtree: true })
  // What Material built before this script ran.
  Array.prototype.forEach.call(document.querySelectorAll(SCROLLING), watch)
})()

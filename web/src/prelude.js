// Chaja's browser bundle (built by web/CMakeLists.txt from web/src/). Everything runs inside this
// one function: marked is bound to a local `module`, so the bundle adds no globals to the page.
(function () {
  "use strict";
  var module = { exports: {} };
  var exports = module.exports;

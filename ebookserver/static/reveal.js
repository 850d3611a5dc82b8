/* Show a password or PIN while typing it (for a villager unsure of what they typed): the
   checkbox beside each password field, hidden until this script runs, switches the field
   between hidden and shown. ES5, no dependencies. */
(function () {
  var boxes = document.querySelectorAll("input[data-reveal]");
  for (var i = 0; i < boxes.length; i++) {
    var box = boxes[i];
    if (box.getAttribute("data-bound")) {
      continue;
    }
    box.setAttribute("data-bound", "1");
    box.parentNode.hidden = false;
    box.addEventListener("change", function (event) {
      var field = document.getElementById(event.target.getAttribute("data-reveal"));
      if (field) {
        field.type = event.target.checked ? "text" : "password";
      }
    });
  }
})();

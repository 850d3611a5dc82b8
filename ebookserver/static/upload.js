/* Uploads with a progress bar per file, and drag and drop (ES5, no libraries).
   Without this script the form still works: the browser sends every chosen file at once. */
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest || !document.querySelector) {
    return;
  }
  var input = form.querySelector("input[type=file]");
  var zone = document.getElementById("drop-zone");
  var progressList = document.getElementById("upload-progress");
  var results = document.getElementById("upload-results");
  var heading = document.getElementById("results-heading");
  var token = form.querySelector("input[name=csrf_token]").value;
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
  var queue = [];
  var busy = false;

  function text(name) {
    return form.getAttribute("data-" + name);
  }

  function row(file) {
    var item = document.createElement("li");
    var name = document.createElement("span");
    var bar = document.createElement("progress");
    var state = document.createElement("span");
    name.className = "file-name";
    name.appendChild(document.createTextNode(file.name));
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    state.className = "state";
    state.appendChild(document.createTextNode(text("waiting")));
    item.appendChild(name);
    item.appendChild(bar);
    item.appendChild(state);
    progressList.appendChild(item);
    return { item: item, bar: bar, state: state };
  }

  function say(line, message, kind) {
    line.state.textContent = message;
    if (kind) {
      line.item.className = kind;
    }
  }

  function add(files) {
    for (var i = 0; i < files.length; i++) {
      var line = row(files[i]);
      if (files[i].size > maxBytes) {
        line.bar.value = 0;
        say(line, text("too-large"), "refused");
      } else {
        queue.push({ file: files[i], line: line });
      }
    }
    next();
  }

  function finished(job, reply) {
    if (reply && reply.html) {
      results.insertAdjacentHTML("beforeend", reply.html);
      heading.className = "";
    }
    if (reply && reply.error) {
      say(job.line, reply.error, "refused");
    } else {
      job.line.bar.value = 100;
      say(job.line, text("done"), "done");
    }
    busy = false;
    next();
  }

  // One request per file, one after the other: each file gets its own progress and result.
  function next() {
    if (busy || !queue.length) {
      return;
    }
    busy = true;
    var job = queue.shift();
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("X-CSRFToken", token);
    request.setRequestHeader("X-Upload-Single", "1");
    request.setRequestHeader("X-Upload-Name", encodeURIComponent(job.file.name));
    request.setRequestHeader("Accept", "application/json");
    say(job.line, text("sending"));
    request.upload.onprogress = function (event) {
      if (event.lengthComputable) {
        job.line.bar.value = Math.round((event.loaded * 100) / event.total);
        if (event.loaded >= event.total) {
          say(job.line, text("reading"));
        }
      }
    };
    request.onload = function () {
      var reply = null;
      if (request.responseURL && request.responseURL.indexOf("/kelola/masuk") !== -1) {
        // The session ended (idle too long): the server sent the sign-in page instead.
        finished(job, { error: text("signed-out") });
        return;
      }
      try {
        reply = JSON.parse(request.responseText);
      } catch (error) {
        reply = { error: text("failed") };
      }
      finished(job, reply);
    };
    request.onerror = function () {
      finished(job, { error: text("failed") });
    };
    var data = new FormData();
    data.append("files", job.file, job.file.name);
    request.send(data);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    add(input.files);
    input.value = "";
  });

  if (zone && "ondrop" in zone) {
    zone.addEventListener("dragover", function (event) {
      event.preventDefault();
      zone.className = zone.className.replace(/ dragging/g, "") + " dragging";
    });
    zone.addEventListener("dragleave", function () {
      zone.className = zone.className.replace(/ dragging/g, "");
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.className = zone.className.replace(/ dragging/g, "");
      if (event.dataTransfer && event.dataTransfer.files) {
        add(event.dataTransfer.files);
      }
    });
  }
})();

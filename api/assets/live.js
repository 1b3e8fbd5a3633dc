// Follows a job's progress over its event stream (GET /v1/jobs/{id}/events, authenticated by
// the sign-in cookie) and reloads the page when the job ends, so the server renders its result.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.ended === "true" || !window.EventSource) return;
  var bar = document.getElementById("job-progress");
  var percent = document.getElementById("job-percent");
  var status = document.getElementById("job-status");
  var message = document.getElementById("job-message");
  var source = new EventSource("/v1/jobs/" + box.dataset.job + "/events");
  function show(event) {
    var job = JSON.parse(event.data).job;
    bar.value = job.progress;
    percent.textContent = Math.round(job.progress * 100) + "%";
    status.textContent = job.status;
    message.textContent = job.message || "";
    return job;
  }
  source.addEventListener("status", show);
  source.addEventListener("end", function (event) {
    show(event);
    source.close();
    window.location.reload();
  });
})();

// Replays a list of calls through a real Node.js SDK, then flushes: the test's plan on stdin,
// {"sdk": "segment" | "rudderstack", "host": "...", "writeKey": "...",
//  "calls": [{"method": "track", "args": {...}}, ...]}. Exits 1 if the SDK reports an error.
const fs = require('fs');

const plan = JSON.parse(fs.readFileSync(0, 'utf8'));
const errors = [];

async function segment() {
  const { Analytics } = require('@segment/analytics-node');
  const client = new Analytics({ writeKey: plan.writeKey, host: plan.host, flushAt: 50, flushInterval: 200, maxRetries: 3 });
  client.on('error', (err) => errors.push(String(err && (err.reason || err.message || err.code) || err)));
  for (const call of plan.calls) client[call.method](call.args);
  await client.closeAndFlush({ timeout: 20000 });
}

async function rudderstack() {
  const RudderAnalytics = require('@rudderstack/rudder-sdk-node');
  const client = new RudderAnalytics(plan.writeKey, {
    dataPlaneUrl: plan.host, flushAt: 50, flushInterval: 200, maxInternalQueueSize: 1000,
    errorHandler: (err) => errors.push(String(err && err.message || err)),
  });
  for (const call of plan.calls) client[call.method](call.args);
  await new Promise((resolve) => client.flush((err) => { if (err) errors.push(String(err)); resolve(); }));
}

(plan.sdk === 'segment' ? segment() : rudderstack())
  .catch((err) => errors.push(String(err && err.stack || err)))
  .finally(() => {
    if (errors.length) { console.error(errors.join('\n')); process.exit(1); }
    console.log(`sent ${plan.calls.length} calls`);
    process.exit(0);
  });

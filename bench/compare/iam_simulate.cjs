#!/usr/bin/env node
// @cloud-copilot/iam-simulate's side of `make bench-compare`.
//
// Evaluates trailkey's simulated CloudTrail requests (written by examples/bench_corpus.rs to
// requests.json) against every corpus policy with iam-simulate's core `authorize` function
// (dist/cjs/core_engine/CoreSimulatorEngine.js) and writes per-policy verdicts as JSON lines.
//
// Why the core function and not the public `runSimulation`: runSimulation keeps only the context
// keys the service reference lists for the action, and KMS lists the encryption-context key as
// `kms:EncryptionContext:${EncryptionContextKey}`, which its variable-key matcher (it only matches
// `prefix/...` keys) does not recognise; `kms:EncryptionContext:aws:cloudtrail:arn` is dropped
// as an "ignored context key" and a correct CloudTrail policy comes out denied. This script
// demonstrates that once (`runSimulation_demo` in the summary) and otherwise calls `authorize`
// with the full request context, the way runSimulation itself does after filtering.
//
// Usage: node iam_simulate.cjs --npm-dir .bench/npm --corpus corpus.jsonl --requests requests.json
//          --verdicts out.jsonl [--rounds 3] [--min-seconds 0.5]
// The timing summary (JSON) goes to stdout.
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback === undefined) throw new Error(`${name} is required`);
  return fallback;
}

const npmDir = path.resolve(arg('--npm-dir'));
const req = createRequire(path.join(npmDir, 'package.json'));
const simIndex = req.resolve('@cloud-copilot/iam-simulate');
const simDir = path.dirname(simIndex); // .../dist/cjs
const sim = req('@cloud-copilot/iam-simulate');
const { authorize } = require(path.join(simDir, 'core_engine', 'CoreSimulatorEngine.js'));
const { AwsRequestImpl } = require(path.join(simDir, 'request', 'request.js'));
const { RequestContextImpl } = require(path.join(simDir, 'requestContext.js'));
const { DiscoveryContextKeyConstraints } = require(
  path.join(simDir, 'context_keys', 'discoveryContextKeyConstraints.js')
);
const { loadPolicy, validateResourcePolicy } = req('@cloud-copilot/iam-policy');
const version = JSON.parse(
  fs.readFileSync(path.join(simDir, '..', '..', 'package.json'), 'utf8')
).version;

const ALLOW_ALL_IAM = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }]
};
const allowAll = [loadPolicy(ALLOW_ALL_IAM, { name: 'allow-all' })];
const params = {
  simulationMode: 'Strict',
  discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([])
};

function principalOf(r) {
  if (r.principal.service) return r.principal.service;
  if (r.principal.arn) return r.principal.arn;
  return sim.anonymousPrincipal;
}

function accountOf(arn) {
  return arn.split(':')[4] || '';
}

function buildRequest(r) {
  return new AwsRequestImpl(
    principalOf(r),
    { resource: r.resource, accountId: accountOf(r.resource) },
    r.action,
    new RequestContextImpl(r.context),
    false
  );
}

const OUTCOME = { Allowed: 'Allow', ExplicitlyDenied: 'ExplicitDeny' };

function decide(resourcePolicy, r, awsRequest) {
  const result = authorize({
    request: awsRequest,
    sessionPolicy: undefined,
    identityPolicies: r.identity === 'allow-all' ? allowAll : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
    permissionBoundaries: undefined,
    vpcEndpointPolicies: undefined,
    simulationParameters: params
  }).result;
  // Everything else (ImplicitlyDenied, AllowedForAccount without an identity allow, ...) is a
  // denial without an explicit Deny.
  return OUTCOME[result] || 'ImplicitDeny';
}

/** Parses and validates a policy the way runSimulation does; null when invalid. */
function load(text) {
  let json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { error: `json: ${e.message}` };
  }
  const errors = validateResourcePolicy(json);
  if (errors.length > 0) {
    return { error: errors.map((e) => `${e.path}: ${e.message}`).join('; ') };
  }
  return { policy: loadPolicy(json, { name: 'KeyPolicy' }) };
}

function throughput(minSeconds, unitsPerPass, pass) {
  const start = process.hrtime.bigint();
  let units = 0;
  let sink = 0;
  for (;;) {
    sink += pass();
    units += unitsPerPass;
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    if (elapsed >= minSeconds) return { perSecond: units / elapsed, sink };
  }
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
}

async function runSimulationDemo(items, requests) {
  const r = requests.find((x) => x.id === 'trail-encrypt');
  const item = items.find((i) => {
    const l = load(i.policy);
    return l.policy && decide(l.policy, r, buildRequest(r)) === 'Allow';
  });
  if (!item) return null;
  const contextVariables = {};
  for (const [k, v] of Object.entries(r.context)) contextVariables[k] = v;
  const out = await sim.runSimulation(
    {
      request: {
        principal: principalOf(r),
        action: r.action,
        resource: { resource: r.resource, accountId: accountOf(r.resource) },
        contextVariables
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: JSON.parse(item.policy)
    },
    {}
  );
  return {
    policy: item.id,
    request: r.id,
    authorize_result: 'Allowed',
    runSimulation_result: out.overallResult || out.resultType,
    ignoredContextKeys: (out.result && out.result.ignoredContextKeys) || []
  };
}

async function main() {
  const corpus = arg('--corpus');
  const requests = JSON.parse(fs.readFileSync(arg('--requests'), 'utf8'));
  const verdictsPath = arg('--verdicts');
  const rounds = Number(arg('--rounds', '3'));
  const minSeconds = Number(arg('--min-seconds', '0.5'));
  const items = fs
    .readFileSync(corpus, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

  const awsRequests = requests.map(buildRequest);
  const lines = [];
  const loaded = [];
  for (const item of items) {
    const l = load(item.policy);
    if (l.error) {
      lines.push(JSON.stringify({ id: item.id, valid: false, error: l.error }));
      continue;
    }
    loaded.push(l.policy);
    const verdicts = {};
    requests.forEach((r, i) => {
      try {
        verdicts[r.id] = decide(l.policy, r, awsRequests[i]);
      } catch (e) {
        verdicts[r.id] = `error: ${e.message}`;
      }
    });
    lines.push(JSON.stringify({ id: item.id, valid: true, verdicts }));
  }
  fs.writeFileSync(verdictsPath, lines.join('\n') + '\n');

  const nRequests = loaded.length * requests.length;
  const safeDecide = (p, r, a) => {
    try {
      return decide(p, r, a) === 'Allow' ? 1 : 0;
    } catch (e) {
      return 0;
    }
  };
  const evalOnly = [];
  const withParse = [];
  for (let round = 0; round < rounds; round++) {
    evalOnly.push(
      throughput(minSeconds, nRequests, () => {
        let allowed = 0;
        for (const p of loaded) {
          requests.forEach((r, i) => {
            allowed += safeDecide(p, r, awsRequests[i]);
          });
        }
        return allowed;
      }).perSecond
    );
    withParse.push(
      throughput(minSeconds, nRequests, () => {
        let allowed = 0;
        for (const item of items) {
          const l = load(item.policy);
          if (!l.policy) continue;
          requests.forEach((r, i) => {
            allowed += safeDecide(l.policy, r, awsRequests[i]);
          });
        }
        return allowed;
      }).perSecond
    );
  }
  const summary = {
    tool: 'iam-simulate',
    version,
    node: process.version,
    function: 'core_engine/CoreSimulatorEngine.authorize',
    policies: items.length,
    valid_policies: loaded.length,
    requests_per_policy: requests.length,
    rounds,
    requests_per_s_eval_only: median(evalOnly),
    requests_per_s_with_parse: median(withParse),
    runSimulation_demo: await runSimulationDemo(items, requests)
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
}

main().catch((e) => {
  process.stderr.write(`iam_simulate.cjs: ${e.stack || e}\n`);
  process.exit(1);
});

// An event store client in Node.js built from proto/ alone: it publishes, retries a publish
// with ids and no timestamps, meets a write condition failure and reads its details, and
// scans. Usage: node client.js HOST:PORT
// Prints one JSON document with what it saw; exits non-zero on anything unexpected.
"use strict";

const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const protobuf = require("protobufjs");

const PROTO_ROOT = path.resolve(__dirname, "../../../proto");
const SERVICE_PROTO = "logicblocks/event/v1/event_store.proto";

// int64 fields arrive as strings so no sequence number or position loses precision.
const definition = protoLoader.loadSync(SERVICE_PROTO, {
  includeDirs: [PROTO_ROOT],
  keepCase: true,
  longs: String,
  defaults: true,
  oneofs: true,
});
const v1 = grpc.loadPackageDefinition(definition).logicblocks.event.v1;

// The rich error model: the grpc-status-details-bin trailer holds a google.rpc.Status
// whose details are google.protobuf.Any messages; ours is WriteConditionFailure.
const messages = new protobuf.Root();
messages.resolvePath = (_origin, target) =>
  target.startsWith("google/protobuf/") ? target : path.join(PROTO_ROOT, target);
messages.loadSync("logicblocks/event/v1/conditions.proto", { keepCase: true });
// google.rpc.Status, declared here (its .proto ships with googleapis, not with us); Any
// is spelled out with its two fields, which is its whole wire format.
protobuf.parse(
  `syntax = "proto3";
   package google.rpc;
   message Status { int32 code = 1; string message = 2; repeated PackedAny details = 3; }
   message PackedAny { string type_url = 1; bytes value = 2; }
   message BadRequest {
     message FieldViolation { string field = 1; string description = 2; }
     repeated FieldViolation field_violations = 1;
   }`,
  messages,
  { keepCase: true },
);
messages.resolveAll();
const RpcStatus = messages.lookupType("google.rpc.Status");
const WriteConditionFailure = messages.lookupType("logicblocks.event.v1.WriteConditionFailure");
const BadRequest = messages.lookupType("google.rpc.BadRequest");

function call(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + 10000 }, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

function scan(client, request) {
  return new Promise((resolve, reject) => {
    const batches = [];
    const stream = client.Scan(request, { deadline: Date.now() + 10000 });
    stream.on("data", (response) => batches.push(response.events));
    stream.on("error", reject);
    stream.on("end", () => resolve(batches));
  });
}

function conditionFailureOf(error) {
  const [raw] = error.metadata.get("grpc-status-details-bin");
  const status = RpcStatus.decode(raw);
  const packed = status.details.find((any) => any.type_url.endsWith("/logicblocks.event.v1.WriteConditionFailure"));
  const failure = WriteConditionFailure.toObject(WriteConditionFailure.decode(packed.value), {
    longs: String,
    defaults: true,
    oneofs: true,
  });
  return { code: error.code, status_code: status.code, message: status.message, ...failure };
}

// The path a BadRequest names for an INVALID_ARGUMENT, as any client reads it.
function fieldOf(error) {
  if (error.code !== grpc.status.INVALID_ARGUMENT) throw error;
  const [raw] = error.metadata.get("grpc-status-details-bin");
  const packed = RpcStatus.decode(raw).details.find((any) => any.type_url.endsWith("/google.rpc.BadRequest"));
  return BadRequest.decode(packed.value).field_violations.map((violation) => violation.field);
}

async function violations(client) {
  const event = { name: "e", payload: Buffer.from("{}", "utf8") };
  const publishes = [
    { target: { category: "node", stream: "" }, events: [event] },
    { target: { category: "node", stream: "v" }, events: [event, { ...event, name: "" }] },
    { target: { category: "node", stream: "v" }, events: [event], conditions: [{ position_is: { position: "-1" } }] },
  ];
  const fields = [];
  for (const request of publishes) {
    fields.push(await call(client, "Publish", request).then(() => null, fieldOf));
  }
  fields.push(await scan(client, { target: { category: { category: "" } } }).then(() => null, fieldOf));
  return fields;
}

const now = () => ({ seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 });

async function main() {
  const target = process.argv[2];
  const client = new v1.EventStore(target, grpc.credentials.createInsecure());
  const stream = { category: "node", stream: "e2e-1" };
  // Written as text: a Number would round the big integer.
  const payloadText = '{"name":"Zoë","big":123456789012345678901234567890}';

  const published = await call(client, "Publish", {
    target: stream,
    events: [
      { name: "created", payload: Buffer.from(payloadText, "utf8"), observed_at: now() },
      { name: "renamed", payload: Buffer.from('{"name":"Zoe"}', "utf8") },
    ],
    conditions: [{ stream_is_empty: {} }],
  });

  // A retry as the proto describes it: the same events with the same ids, no timestamps
  // (the server's clock fills them in). The second answer must carry the same receipts.
  const retryRequest = {
    target: { category: "node", stream: "e2e-retry" },
    events: [
      { id: "node-retry-1", name: "created", payload: Buffer.from('{"n":1}', "utf8") },
      { id: "node-retry-2", name: "renamed", payload: Buffer.from('{"n":2}', "utf8") },
    ],
  };
  const first = await call(client, "Publish", retryRequest);
  const again = await call(client, "Publish", retryRequest);

  let failure = null;
  try {
    await call(client, "Publish", {
      target: stream,
      events: [{ name: "late", payload: Buffer.from("{}", "utf8") }],
      conditions: [{ position_is: { position: "0" } }],
    });
  } catch (error) {
    if (error.code !== grpc.status.FAILED_PRECONDITION) throw error;
    failure = conditionFailureOf(error);
  }

  const fieldPaths = await violations(client);

  const batches = await scan(client, { target: { stream }, after_sequence_number: "-1" });
  const scanned = batches.flat().map((event) => ({
    id: event.id,
    name: event.name,
    position: event.position,
    sequence_number: event.sequence_number,
    payload: Buffer.from(event.payload).toString("utf8"),
  }));
  client.close();
  process.stdout.write(
    JSON.stringify({
      published: published.receipts.map((receipt) => ({
        id: receipt.id,
        position: receipt.position,
        sequence_number: receipt.sequence_number,
        observed_at: receipt.observed_at,
      })),
      deprecated_events: published.events.length,
      retry: { first: first.receipts, again: again.receipts },
      failure,
      field_paths: fieldPaths,
      scanned,
      sent_payload: payloadText,
    }) + "\n",
  );
}

main().catch((error) => {
  process.stderr.write(`node client failed: ${error.stack || error}\n`);
  process.exit(1);
});

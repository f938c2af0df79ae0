// The credentials NATS supports beyond user/password and token, each against
// a real nats-server configured for it: an nkey user, a decentralised (JWT)
// user from a `.creds` file under an operator, and mutual TLS. Each connects
// and serves an ask when right, is refused with a typed error when wrong, and
// its secret (seed, creds, private key) appears in no error, event, stats,
// string or JSON.
import assert from "node:assert/strict";
import { createAccount, createOperator, createUser } from "@nats-io/nkeys";
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from "@nats-io/jwt";
import { ActorSystem, AuthenticationError, BrokerUnavailableError } from "../../mod.ts";
import { type ClusterEvent, NatsNode, type NatsNodeOptions } from "../../actors/cluster/mod.ts";
import type { natsProbe } from "../fixtures/nats_actor.ts";
import { startNatsServer } from "./_server.ts";
import { everythingSaid } from "./_said.ts";

type NatsProbeModule = typeof import("../fixtures/nats_actor.ts");

const text = (value: string | Uint8Array): string =>
  typeof value === "string" ? value : new TextDecoder().decode(value);

/** Connects, serves one ask across two nodes, and checks that `secret` was said nowhere. */
async function connectsAndServes(options: NatsNodeOptions, secret: string): Promise<void> {
  await using system = await ActorSystem.start();
  const echo = await system.spawn<typeof natsProbe>(
    new URL("../fixtures/nats_actor.ts", import.meta.url),
    { id: "echo", args: { label: "auth" } },
  );
  const events: ClusterEvent[] = [];
  const server = await NatsNode.connect({ ...options, namespace: "auth" });
  const client = await NatsNode.connect({ ...options, namespace: "auth" });
  const reading = (async () => {
    for await (const event of client.events()) events.push(event);
  })();
  try {
    await server.expose("echo", echo);
    const remote = client.lookup<NatsProbeModule>("echo");
    assert.equal(await remote.ask("echo", "over the broker"), "over the broker");
    for (const said of [server, client, client.stats(), client.toString(), client.toJSON()]) {
      assert.ok(!everythingSaid(said).includes(secret), "a secret was said");
    }
  } finally {
    await server.close();
    await client.close();
    await reading;
  }
  assert.ok(!everythingSaid(events).includes(secret), "a secret was said in an event");
}

async function refused(options: NatsNodeOptions): Promise<unknown> {
  return await NatsNode.connect({ connectTimeout: 2000, ...options }).then(
    async (node) => {
      await node.close();
      assert.fail("the connect should fail");
    },
    (error: unknown) => error,
  );
}

Deno.test("an nkey user connects with its seed; a wrong seed is refused; the seed is said nowhere", async () => {
  const user = createUser();
  const dir = await Deno.makeTempDir({ prefix: "troupe-nkey-" });
  const config = `${dir}/server.conf`;
  await Deno.writeTextFile(
    config,
    `authorization { users = [ { nkey: ${text(user.getPublicKey())} } ] }\n`,
  );
  try {
    await using server = await startNatsServer(["-c", config]);
    const seed = text(user.getSeed());
    await connectsAndServes({ servers: server.url, nkeySeed: seed }, seed);
    // The seed as bytes, as a secrets store may hand it over.
    await connectsAndServes({ servers: server.url, nkeySeed: user.getSeed() }, seed);

    const stranger = text(createUser().getSeed());
    const error = await refused({ servers: server.url, nkeySeed: stranger });
    assert.ok(error instanceof AuthenticationError, String(error));
    assert.ok(!everythingSaid(error).includes(stranger), everythingSaid(error));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** An operator, an account it signed, and the server config trusting them (memory resolver). */
async function operatorSetup(dir: string) {
  const operator = createOperator();
  const account = createAccount();
  const system = createAccount();
  const unlimited = {
    conn: -1,
    subs: -1,
    data: -1,
    payload: -1,
    imports: -1,
    exports: -1,
    wildcards: true,
    leaf: -1,
  };
  const operatorJwt = await encodeOperator("troupe-op", operator, {
    system_account: text(system.getPublicKey()),
  });
  const accountJwt = await encodeAccount(
    "app",
    account,
    { limits: unlimited } as Parameters<typeof encodeAccount>[2],
    { signer: operator },
  );
  const systemJwt = await encodeAccount("SYS", system, {}, { signer: operator });
  const config = `${dir}/server.conf`;
  await Deno.writeTextFile(
    config,
    [
      `operator: ${operatorJwt}`,
      `system_account: ${text(system.getPublicKey())}`,
      "resolver: MEMORY",
      "resolver_preload: {",
      `  ${text(account.getPublicKey())}: ${accountJwt}`,
      `  ${text(system.getPublicKey())}: ${systemJwt}`,
      "}",
      "",
    ].join("\n"),
  );
  const credsFor = async (signer: ReturnType<typeof createAccount>) => {
    const user = createUser();
    return text(fmtCreds(await encodeUser("svc", user, signer), user));
  };
  return { config, credsFor, account };
}

Deno.test("a .creds file (user JWT and seed, under an operator) connects; one from an unknown account is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "troupe-creds-" });
  try {
    const { config, credsFor, account } = await operatorSetup(dir);
    // Operator mode and JetStream need a system account's JetStream settings
    // this test does not use; the core request path is what credentials guard.
    await using server = await startNatsServer(["-c", config], { jetstream: false });
    const creds = await credsFor(account);
    const seedLine = creds.split("\n").find((line) => line.startsWith("SU"))!;
    assert.ok(seedLine, "the creds file holds a user seed");
    await connectsAndServes({ servers: server.url, creds }, seedLine);
    await connectsAndServes(
      { servers: server.url, creds: new TextEncoder().encode(creds) },
      seedLine,
    );

    const stranger = await credsFor(createAccount());
    const strangerSeed = stranger.split("\n").find((line) => line.startsWith("SU"))!;
    const error = await refused({ servers: server.url, creds: stranger });
    assert.ok(error instanceof AuthenticationError, String(error));
    assert.ok(!everythingSaid(error).includes(strangerSeed), everythingSaid(error));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl. */
async function certificates(dir: string) {
  const openssl = async (...args: string[]) => {
    const { code, stderr } = await new Deno.Command("openssl", { args, stdout: "null" }).output();
    assert.equal(code, 0, `openssl ${args.join(" ")}:\n${new TextDecoder().decode(stderr)}`);
  };
  await openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=troupe-test-ca",
    "-keyout",
    `${dir}/ca.key`,
    "-out",
    `${dir}/ca.pem`,
  );
  for (
    const [who, extension] of [
      ["server", "subjectAltName=IP:127.0.0.1"],
      ["elsewhere", "subjectAltName=IP:10.9.9.9,DNS:elsewhere.example"],
      ["client", ""],
    ]
  ) {
    await openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=troupe-${who}`,
      "-keyout",
      `${dir}/${who}.key`,
      "-out",
      `${dir}/${who}.csr`,
    );
    await Deno.writeTextFile(
      `${dir}/${who}.ext`,
      `${extension ? `${extension}\n` : ""}extendedKeyUsage=${
        who === "client" ? "clientAuth" : "serverAuth"
      }\n`,
    );
    await openssl(
      "x509",
      "-req",
      "-in",
      `${dir}/${who}.csr`,
      "-CA",
      `${dir}/ca.pem`,
      "-CAkey",
      `${dir}/ca.key`,
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      `${dir}/${who}.ext`,
      "-out",
      `${dir}/${who}.pem`,
    );
  }
}

Deno.test("mutual TLS: a client with the CA and its certificate connects (files or PEM text); without its certificate it is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "troupe-tls-" });
  try {
    await certificates(dir);
    await using server = await startNatsServer([
      "--tls",
      "--tlscert",
      `${dir}/server.pem`,
      "--tlskey",
      `${dir}/server.key`,
      "--tlscacert",
      `${dir}/ca.pem`,
      "--tlsverify",
    ]);
    const key = await Deno.readTextFile(`${dir}/client.key`);
    const keyBody = key.split("\n")[1];
    await connectsAndServes({
      servers: server.url,
      tls: { caFile: `${dir}/ca.pem`, certFile: `${dir}/client.pem`, keyFile: `${dir}/client.key` },
    }, keyBody);
    await connectsAndServes({
      servers: server.url,
      tls: {
        ca: await Deno.readTextFile(`${dir}/ca.pem`),
        cert: await Deno.readTextFile(`${dir}/client.pem`),
        key,
      },
    }, keyBody);

    // The server verifies clients: the CA alone does not get in.
    const error = await refused({ servers: server.url, tls: { caFile: `${dir}/ca.pem` } });
    assert.ok(
      error instanceof BrokerUnavailableError || error instanceof AuthenticationError,
      String(error),
    );
    assert.ok(!everythingSaid(error).includes(keyBody), everythingSaid(error));

    // A certificate from the same CA, issued for another address, is refused:
    // the identity check still holds for servers dialled by IP address.
    await using impostor = await startNatsServer([
      "--tls",
      "--tlscert",
      `${dir}/elsewhere.pem`,
      "--tlskey",
      `${dir}/elsewhere.key`,
    ]);
    const mismatch = await refused({ servers: impostor.url, tls: { caFile: `${dir}/ca.pem` } });
    assert.ok(mismatch instanceof BrokerUnavailableError, String(mismatch));
    assert.match(everythingSaid(mismatch), /altnames|does not match/i);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

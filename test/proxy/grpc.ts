import * as grpc from '@grpc/grpc-js';

/**
 * A tiny gRPC service for tests, defined without a .proto file: messages are JSON.
 *   Echo(unary), Count(server streaming: n messages), Fail(unary: returns the status asked for).
 */
const json = {
  serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString()) as unknown,
};
/** A unary or server-streaming method of a JSON-message service at `path`. */
export const method = (path: string, responseStream: boolean) => ({
  path, requestStream: false, responseStream,
  requestSerialize: json.serialize, requestDeserialize: json.deserialize,
  responseSerialize: json.serialize, responseDeserialize: json.deserialize,
});
export const TestService = {
  echo: method('/ebb.test.Test/Echo', false),
  count: method('/ebb.test.Test/Count', true),
  fail: method('/ebb.test.Test/Fail', false),
} as const;

export type TestClient = grpc.Client & {
  echo(req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: unknown) => void): grpc.ClientUnaryCall;
  count(req: unknown, md?: grpc.Metadata): grpc.ClientReadableStream<unknown>;
  fail(req: unknown, cb: (err: grpc.ServiceError | null, res?: unknown) => void): grpc.ClientUnaryCall;
};

export const TestClientCtor = grpc.makeGenericClientConstructor(TestService as unknown as grpc.ServiceDefinition, 'Test') as unknown as new (
  address: string, creds: grpc.ChannelCredentials) => TestClient;

export async function startGrpcApp(hooks: { onCount?: (call: grpc.ServerWritableStream<{ n: number }, unknown>) => void } = {}): Promise<{ port: number; server: grpc.Server; close(): void }> {
  const server = new grpc.Server();
  server.addService(TestService as unknown as grpc.ServiceDefinition, {
    echo: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const md = new grpc.Metadata();
      md.set('x-trailer', 'from-app');
      cb(null, { echo: call.request, header: call.metadata.get('x-client')[0] ?? null }, md);
    },
    count: (call: grpc.ServerWritableStream<{ n: number }, unknown>) => {
      if (hooks.onCount) { hooks.onCount(call); return; }
      for (let i = 0; i < call.request.n; i++) call.write({ i });
      const md = new grpc.Metadata();
      md.set('x-trailer', 'counted');
      call.end(md);
    },
    fail: (call: grpc.ServerUnaryCall<{ code: number }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      cb({ code: call.request.code, details: 'asked to fail' });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return { port, server, close: () => server.forceShutdown() };
}

export function client(port: number): TestClient {
  return new TestClientCtor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

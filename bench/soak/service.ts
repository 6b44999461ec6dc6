// What the soak's app and its clients agree on: the fixed body, and the gRPC service defined without a
// .proto file (messages are JSON).
import * as grpc from '@grpc/grpc-js';

export const BODY = 'hello from the ebb soak app\n';

const json = {
  serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString()) as unknown,
};
const method = (path: string, responseStream: boolean) => ({
  path, requestStream: false, responseStream,
  requestSerialize: json.serialize, requestDeserialize: json.deserialize,
  responseSerialize: json.serialize, responseDeserialize: json.deserialize,
});

export const GRPC_SERVICE = {
  echo: method('/ebb.soak.Soak/Echo', false),
  count: method('/ebb.soak.Soak/Count', true),
} as unknown as grpc.ServiceDefinition;

export type SoakGrpcClient = grpc.Client & {
  echo(req: unknown, cb: (err: grpc.ServiceError | null, res?: unknown) => void): grpc.ClientUnaryCall;
  count(req: unknown): grpc.ClientReadableStream<unknown>;
};

const Ctor = grpc.makeGenericClientConstructor(GRPC_SERVICE, 'Soak') as unknown as new (
  address: string, creds: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => SoakGrpcClient;

export function grpcClient(port: number): SoakGrpcClient {
  return new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

// What the soak's app and its clients agree on: the fixed body, and the gRPC service defined without a
// .proto file (messages are JSON), built like the tests' service (test/proxy/grpc.ts).
import * as grpc from '@grpc/grpc-js';
import { method } from '../../test/proxy/grpc.js';

export const BODY = 'hello from the ebb soak app\n';

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

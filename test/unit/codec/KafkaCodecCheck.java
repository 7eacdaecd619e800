import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.utils.BufferSupplier;
import org.apache.kafka.common.utils.ByteBufferOutputStream;

/**
 * Checks kafkarx's codecs against the Kafka client's own, as a record batch v2 uses them.
 * Reads DIR/cases.tsv, lines of "codec  raw-file  kafkarx-file  java-file" (tab separated):
 * decompresses kafkarx-file with Kafka's codec and compares it with raw-file, then compresses
 * raw-file with Kafka's codec into java-file for kafkarx to decompress. Prints one line per case:
 * "kafkarx-file TAB ok" or "kafkarx-file TAB <what went wrong>".
 */
public class KafkaCodecCheck {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        List<String> lines = Files.readAllLines(dir.resolve("cases.tsv"), StandardCharsets.UTF_8);
        try (BufferSupplier buffers = BufferSupplier.create()) {
            for (String line : lines) {
                if (line.isBlank()) continue;
                String[] field = line.split("\t");
                Compression compression = Compression.of(field[0]).build();
                byte[] raw = Files.readAllBytes(dir.resolve(field[1]));
                byte[] ours = Files.readAllBytes(dir.resolve(field[2]));
                System.out.println(field[2] + "\t" + readBack(compression, ours, raw, buffers));
                Files.write(dir.resolve(field[3]), compress(compression, raw));
            }
        }
    }

    private static String readBack(Compression compression, byte[] compressed, byte[] expected, BufferSupplier buffers) {
        try (InputStream in = compression.wrapForInput(ByteBuffer.wrap(compressed), RecordBatch.MAGIC_VALUE_V2, buffers)) {
            byte[] back = in.readAllBytes();
            if (Arrays.equals(back, expected)) return "ok";
            return "decompressed " + back.length + " bytes that differ from the " + expected.length + " expected";
        } catch (Throwable e) {
            Throwable cause = e;
            StringBuilder why = new StringBuilder();
            while (cause != null) {
                why.append(why.length() == 0 ? "" : " <- ").append(cause);
                cause = cause.getCause();
            }
            return why.toString().replace('\t', ' ').replace('\n', ' ');
        }
    }

    private static byte[] compress(Compression compression, byte[] raw) throws Exception {
        ByteBufferOutputStream sink = new ByteBufferOutputStream(1024);
        try (OutputStream out = compression.wrapForOutput(sink, RecordBatch.MAGIC_VALUE_V2)) {
            out.write(raw);
        }
        ByteBuffer written = sink.buffer();
        written.flip();
        byte[] bytes = new byte[written.remaining()];
        written.get(bytes);
        return bytes;
    }
}

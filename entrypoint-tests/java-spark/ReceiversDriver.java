import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;

import org.apache.spark.SparkConf;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorAdded;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaReceiverInputDStream;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.apache.spark.streaming.receiver.Receiver;
import org.apache.spark.streaming.scheduler.StreamingListener;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchStarted;
import org.apache.spark.streaming.scheduler.StreamingListenerReceiverStarted;

/**
 * A streaming driver for the receiver-barrier test (Spark's DStream API). Args: the events file,
 * the number of receivers. It appends one line per event to the events file, each with the
 * driver's clock in milliseconds:
 * `executor-added <id> <ms>` (from {@link Events}, a listener named in spark.extraListeners, so
 * it sees executors that attach while the SparkContext is still being created),
 * `context-ready <ms>` once the streaming context (and its SparkContext) exists,
 * `receiver-started <stream> <executor> <ms>`, `batch-started <batch ms> <ms>` and
 * `batch-completed <batch ms> <ms>`. It runs until it is killed.
 */
public class ReceiversDriver {
    static synchronized void event(String file, String line) {
        try {
            Files.write(Paths.get(file), (line + " " + System.currentTimeMillis() + "\n")
                .getBytes(StandardCharsets.UTF_8),
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    public static void main(String[] args) throws Exception {
        String events = args[0];
        int receivers = Integer.parseInt(args[1]);
        SparkConf conf = new SparkConf().setAppName("spark-init-receiver-barrier");
        JavaStreamingContext ssc = new JavaStreamingContext(conf, Durations.seconds(2));
        event(events, "context-ready");
        ssc.addStreamingListener(new Streaming(events));
        for (int i = 0; i < receivers; i++) {
            JavaReceiverInputDStream<String> stream = ssc.receiverStream(new Counter());
            stream.foreachRDD(rdd -> {
                rdd.count();
            });
        }
        ssc.start();
        ssc.awaitTermination();
    }

    /** Executors as they register with the driver (the event's own time). */
    public static class Events extends SparkListener {
        private final String file;

        public Events(SparkConf conf) {
            file = conf.get("spark.receiverstest.events");
        }

        @Override
        public void onExecutorAdded(SparkListenerExecutorAdded added) {
            event(file, "executor-added " + added.executorId());
        }
    }

    /** Receivers and batches as the streaming scheduler reports them. */
    public static class Streaming implements StreamingListener {
        private final String file;

        Streaming(String file) {
            this.file = file;
        }

        @Override
        public void onReceiverStarted(StreamingListenerReceiverStarted started) {
            event(file, "receiver-started " + started.receiverInfo().streamId() + " "
                + started.receiverInfo().executorId());
        }

        @Override
        public void onBatchStarted(StreamingListenerBatchStarted started) {
            event(file, "batch-started " + started.batchInfo().batchTime().milliseconds());
        }

        @Override
        public void onBatchCompleted(StreamingListenerBatchCompleted completed) {
            event(file, "batch-completed " + completed.batchInfo().batchTime().milliseconds());
        }
    }

    /** A receiver that stores a counter every 100 ms until it is stopped. */
    public static class Counter extends Receiver<String> {
        public Counter() {
            super(StorageLevel.MEMORY_ONLY());
        }

        @Override
        public void onStart() {
            Thread thread = new Thread(() -> {
                long n = 0;
                while (!isStopped()) {
                    store("record " + n++);
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void onStop() {
        }
    }
}
